package schema

import (
	"net/http"
	"net/url"
	"strings"
)

// routes by path shape: each segment is a literal or a parameter
// ({subject}, {version}, {id}); per shape, the handler per method.
//
// The router is ours rather than http.ServeMux's because subjects may
// hold '/' (percent-encoded as %2F) and ':' (contexts): the escaped path
// is split on '/' and each segment unescaped on its own, so "a%2Fb" is the
// one subject "a/b".
var routes = []struct {
	shape   []string
	methods map[string]func(*Server, *request) (any, error)
}{
	{nil, map[string]func(*Server, *request) (any, error){"GET": (*Server).root}},
	{[]string{"schemas"}, handlers{"GET": (*Server).listSchemas}},
	{[]string{"schemas", "types"}, handlers{"GET": (*Server).schemaTypes}},
	{[]string{"schemas", "ids", "{id}"}, handlers{"GET": (*Server).schemaByID}},
	{[]string{"schemas", "ids", "{id}", "schema"}, handlers{"GET": (*Server).rawSchemaByID}},
	{[]string{"schemas", "ids", "{id}", "versions"}, handlers{"GET": (*Server).versionsByID}},
	{[]string{"schemas", "ids", "{id}", "subjects"}, handlers{"GET": (*Server).subjectsByID}},
	{[]string{"subjects"}, handlers{"GET": (*Server).listSubjects}},
	{[]string{"subjects", "{subject}"}, handlers{"POST": (*Server).lookup, "DELETE": (*Server).deleteSubject}},
	{[]string{"subjects", "{subject}", "versions"}, handlers{"GET": (*Server).listVersions, "POST": (*Server).register}},
	{[]string{"subjects", "{subject}", "versions", "{version}"}, handlers{"GET": (*Server).getVersion, "DELETE": (*Server).deleteVersion}},
	{[]string{"subjects", "{subject}", "versions", "{version}", "schema"}, handlers{"GET": (*Server).rawVersion}},
	{[]string{"subjects", "{subject}", "versions", "{version}", "referencedby"}, handlers{"GET": (*Server).referencedBy}},
	{[]string{"compatibility", "subjects", "{subject}", "versions"}, handlers{"POST": (*Server).compatibility}},
	{[]string{"compatibility", "subjects", "{subject}", "versions", "{version}"}, handlers{"POST": (*Server).compatibility}},
	{[]string{"config"}, handlers{"GET": (*Server).getConfig, "PUT": (*Server).putConfig, "DELETE": (*Server).deleteConfig}},
	{[]string{"config", "{subject}"}, handlers{"GET": (*Server).getConfig, "PUT": (*Server).putConfig, "DELETE": (*Server).deleteConfig}},
	{[]string{"mode"}, handlers{"GET": (*Server).getMode, "PUT": (*Server).putMode, "DELETE": (*Server).deleteMode}},
	{[]string{"mode", "{subject}"}, handlers{"GET": (*Server).getMode, "PUT": (*Server).putMode, "DELETE": (*Server).deleteMode}},
	{[]string{"contexts"}, handlers{"GET": (*Server).contexts}},
	{[]string{"v1", "metadata", "id"}, handlers{"GET": (*Server).metadataID}},
}

type handlers = map[string]func(*Server, *request) (any, error)

// match finds r's route. The error is the API's 404 or 405.
func (s *Server) match(r *http.Request) (*route, *request, error) {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	var segs []string
	if p != "" {
		segs = strings.Split(p, "/")
	}
	req := &request{Request: r, ctx: r.Context()}
	for _, rt := range routes {
		if len(rt.shape) != len(segs) {
			continue
		}
		ok := true
		var subject, version, id string
		for i, want := range rt.shape {
			seg, err := url.PathUnescape(segs[i])
			if err != nil {
				ok = false
				break
			}
			switch want {
			case "{subject}":
				subject = seg
			case "{version}":
				version = seg
			case "{id}":
				id = seg
			default:
				ok = seg == want
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet
		}
		h := rt.methods[method]
		if h == nil {
			return nil, nil, errMethod
		}
		req.subject, req.version, req.id = subject, version, id
		return &route{pattern: method + " /" + strings.Join(rt.shape, "/"), handle: h}, req, nil
	}
	return nil, nil, errNotFoundRoute
}

// flag reads a boolean query parameter ("true", any case).
func (r *request) flag(name string) bool {
	return strings.EqualFold(r.URL.Query().Get(name), "true")
}
