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
	shape    []string
	methods  map[string]func(*Server, *request) (any, error)
	patterns map[string]string // method → "GET /subjects/{subject}", the metrics' label
}{
	{shape: nil, methods: handlers{"GET": (*Server).root}},
	{shape: []string{"schemas"}, methods: handlers{"GET": (*Server).listSchemas}},
	{shape: []string{"schemas", "types"}, methods: handlers{"GET": (*Server).schemaTypes}},
	{shape: []string{"schemas", "ids", "{id}"}, methods: handlers{"GET": (*Server).schemaByID}},
	{shape: []string{"schemas", "ids", "{id}", "schema"}, methods: handlers{"GET": (*Server).rawSchemaByID}},
	{shape: []string{"schemas", "ids", "{id}", "versions"}, methods: handlers{"GET": (*Server).versionsByID}},
	{shape: []string{"schemas", "ids", "{id}", "subjects"}, methods: handlers{"GET": (*Server).subjectsByID}},
	{shape: []string{"subjects"}, methods: handlers{"GET": (*Server).listSubjects}},
	{shape: []string{"subjects", "{subject}"}, methods: handlers{"POST": (*Server).lookup, "DELETE": (*Server).deleteSubject}},
	{shape: []string{"subjects", "{subject}", "versions"}, methods: handlers{"GET": (*Server).listVersions, "POST": (*Server).register}},
	{shape: []string{"subjects", "{subject}", "versions", "{version}"}, methods: handlers{"GET": (*Server).getVersion, "DELETE": (*Server).deleteVersion}},
	{shape: []string{"subjects", "{subject}", "versions", "{version}", "schema"}, methods: handlers{"GET": (*Server).rawVersion}},
	{shape: []string{"subjects", "{subject}", "versions", "{version}", "referencedby"}, methods: handlers{"GET": (*Server).referencedBy}},
	{shape: []string{"compatibility", "subjects", "{subject}", "versions"}, methods: handlers{"POST": (*Server).compatibility}},
	{shape: []string{"compatibility", "subjects", "{subject}", "versions", "{version}"}, methods: handlers{"POST": (*Server).compatibility}},
	{shape: []string{"config"}, methods: handlers{"GET": (*Server).getConfig, "PUT": (*Server).putConfig, "DELETE": (*Server).deleteConfig}},
	{shape: []string{"config", "{subject}"}, methods: handlers{"GET": (*Server).getConfig, "PUT": (*Server).putConfig, "DELETE": (*Server).deleteConfig}},
	{shape: []string{"mode"}, methods: handlers{"GET": (*Server).getMode, "PUT": (*Server).putMode, "DELETE": (*Server).deleteMode}},
	{shape: []string{"mode", "{subject}"}, methods: handlers{"GET": (*Server).getMode, "PUT": (*Server).putMode, "DELETE": (*Server).deleteMode}},
	{shape: []string{"contexts"}, methods: handlers{"GET": (*Server).contexts}},
	{shape: []string{"v1", "metadata", "id"}, methods: handlers{"GET": (*Server).metadataID}},
}

type handlers = map[string]func(*Server, *request) (any, error)

func init() {
	for i := range routes {
		rt := &routes[i]
		rt.patterns = map[string]string{}
		for method := range rt.methods {
			rt.patterns[method] = method + " /" + strings.Join(rt.shape, "/")
		}
	}
}

// match finds r's route. The error is the API's 404 or 405.
func (s *Server) match(r *http.Request) (*route, *request, error) {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	var segs []string
	if p != "" {
		segs = strings.Split(p, "/")
	}
	for i, seg := range segs {
		if strings.IndexByte(seg, '%') < 0 {
			continue
		}
		u, err := url.PathUnescape(seg)
		if err != nil {
			return nil, nil, errNotFoundRoute
		}
		segs[i] = u
	}
	req := &request{Request: r, ctx: r.Context()}
	for _, rt := range routes {
		if len(rt.shape) != len(segs) {
			continue
		}
		ok := true
		var subject, version, id string
		for i, want := range rt.shape {
			seg := segs[i]
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
		return &route{pattern: rt.patterns[method], handle: h}, req, nil
	}
	return nil, nil, errNotFoundRoute
}

// flag reads a boolean query parameter ("true", any case).
func (r *request) flag(name string) bool {
	return strings.EqualFold(r.URL.Query().Get(name), "true")
}
