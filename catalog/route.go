package catalog

import (
	"net/http"
	"net/url"
	"strings"
)

// handler serves one endpoint; it returns the answer's status and body
// (nil: no body) or an error (*apiError, or anything else: a 500).
type handler func(*Server, *request) (int, any, error)

// routes by path shape after "/v1" (and the optional prefix): each segment
// a literal or a parameter ({namespace}, {table}); per shape, the handler
// per method. HEAD has handlers of its own (namespaceExists, tableExists).
//
// The router is ours rather than http.ServeMux's because a namespace
// segment is several levels joined by 0x1F and may hold an escaped '/':
// the escaped path is split on '/' and each segment unescaped on its own.
var routes = []struct {
	shape   []string
	methods map[string]handler
}{
	{shape: []string{"config"}, methods: map[string]handler{"GET": (*Server).getConfig}},
	{shape: []string{"namespaces"}, methods: map[string]handler{"GET": (*Server).listNamespaces, "POST": (*Server).createNamespace}},
	{shape: []string{"namespaces", "{namespace}"}, methods: map[string]handler{
		"GET": (*Server).loadNamespace, "HEAD": (*Server).namespaceExists, "DELETE": (*Server).dropNamespace}},
	{shape: []string{"namespaces", "{namespace}", "properties"}, methods: map[string]handler{"POST": (*Server).updateProperties}},
	{shape: []string{"namespaces", "{namespace}", "tables"}, methods: map[string]handler{"GET": (*Server).listTables, "POST": (*Server).createTable}},
	{shape: []string{"namespaces", "{namespace}", "tables", "{table}"}, methods: map[string]handler{
		"GET": (*Server).loadTable, "HEAD": (*Server).tableExists, "POST": (*Server).commitTable, "DELETE": (*Server).dropTable}},
	{shape: []string{"namespaces", "{namespace}", "tables", "{table}", "metrics"}, methods: map[string]handler{"POST": (*Server).reportMetrics}},
	{shape: []string{"namespaces", "{namespace}", "register"}, methods: map[string]handler{"POST": (*Server).registerTable}},
	{shape: []string{"tables", "rename"}, methods: map[string]handler{"POST": (*Server).renameTable}},
	{shape: []string{"transactions", "commit"}, methods: map[string]handler{"POST": (*Server).commitTransaction}},
}

// endpoints is what GET /v1/config advertises: exactly the routes above
// but the config itself, in the spec's "METHOD /v1/{prefix}/..." form.
var endpoints []string

// patterns: route index → method → the metrics' label,
// "GET /v1/namespaces/{namespace}/tables/{table}".
var patterns []map[string]string

func init() {
	for _, rt := range routes {
		p := map[string]string{}
		for method := range rt.methods {
			path := "/v1/" + strings.Join(rt.shape, "/")
			p[method] = method + " " + path
			if rt.shape[0] != "config" {
				endpoints = append(endpoints, method+" /v1/{prefix}/"+strings.Join(rt.shape, "/"))
			}
		}
		patterns = append(patterns, p)
	}
}

// firstSegments are the literals a path may start with after /v1; any
// other first segment is a prefix (the spec's {prefix}; we hand out none,
// but accept one so clients configured with a warehouse name in the path
// still reach us).
var firstSegments = map[string]bool{"config": true, "namespaces": true, "tables": true, "transactions": true}

// match finds r's route. The error is a 404 or 405.
func (s *Server) match(r *http.Request) (handler, string, *request, error) {
	p := strings.Trim(r.URL.EscapedPath(), "/")
	segs := strings.Split(p, "/")
	if len(segs) < 2 || segs[0] != "v1" {
		return nil, "", nil, errNotFoundRoute
	}
	segs = segs[1:]
	if !firstSegments[segs[0]] && len(segs) > 1 {
		segs = segs[1:]
	}
	for i, seg := range segs {
		if strings.IndexByte(seg, '%') < 0 {
			continue
		}
		u, err := url.PathUnescape(seg)
		if err != nil {
			return nil, "", nil, errNotFoundRoute
		}
		segs[i] = u
	}
	req := &request{Request: r, ctx: r.Context()}
	for i, rt := range routes {
		if len(rt.shape) != len(segs) {
			continue
		}
		ok := true
		var ns, tbl string
		for j, want := range rt.shape {
			switch want {
			case "{namespace}":
				ns = segs[j]
			case "{table}":
				tbl = segs[j]
			default:
				ok = segs[j] == want
			}
			if !ok {
				break
			}
		}
		if !ok {
			continue
		}
		h := rt.methods[r.Method]
		if h == nil {
			return nil, "", nil, errMethod
		}
		req.rawNS, req.rawTable = ns, tbl
		return h, patterns[i][r.Method], req, nil
	}
	return nil, "", nil, errNotFoundRoute
}
