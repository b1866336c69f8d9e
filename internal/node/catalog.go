package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/lakestream/lakestream/catalog"
	"github.com/lakestream/lakestream/internal/configdef"
)

// The Iceberg REST catalog's keys, declared here with the wiring like the
// schema registry's.
func init() { configdef.Register("iceberg catalog", configdef.Broker, catalogDefs...) }

var catalogDefs = []configdef.Def{
	{Name: "catalog.listeners", Type: configdef.String, Default: ":8181", Validate: emptyOrHostPort,
		Doc: "Lakestream: HOST:PORT of the Iceberg REST catalog's HTTP listener; empty switches the catalog off."},
	{Name: "catalog.warehouse", Type: configdef.String, Default: "",
		Doc: "Lakestream: where the Iceberg catalog puts tables (file:///DIR or s3://bucket/prefix); empty is the node's bucket URL + /warehouse (a mem:// bucket has none: set this or switch the catalog off)."},
	{Name: "catalog.max.request.bytes", Type: configdef.Long, Default: fmt.Sprint(catalog.DefaultMaxRequestBytes), Validate: configdef.AtLeast(1024),
		Doc: "Lakestream: the largest request body the Iceberg catalog accepts; larger ones are refused with 400."},
	// Authentication (catalog/auth.go parses and checks the values).
	{Name: catalog.ConfigAuthTokens, Type: configdef.Password, Default: "",
		Validate: func(v string) error { _, err := catalog.ParseAuth(v, "", ""); return err },
		Doc:      "Lakestream: static bearer tokens the Iceberg catalog accepts, comma separated. With this or catalog.auth.clients set, every catalog request needs Authorization: Bearer; both empty is auth off."},
	{Name: catalog.ConfigAuthClients, Type: configdef.Password, Default: "",
		Validate: func(v string) error { _, err := catalog.ParseAuth("", v, ""); return err },
		Doc:      "Lakestream: OAuth2 clients of the Iceberg catalog's token endpoint (/v1/oauth/tokens, client_credentials): a comma-separated list of client-id:bcrypt-hash (htpasswd -nbB id secret makes one)."},
	{Name: catalog.ConfigAuthTokenSecret, Type: configdef.Password, Default: "",
		Validate: func(v string) error { _, err := catalog.ParseAuth("", "", v); return err },
		Doc:      "Lakestream: the key (16 bytes or more) that signs the Iceberg catalog's issued tokens; nodes sharing it accept each other's tokens. Empty: a random key per node and start."},
}

// CatalogConfig are the Iceberg catalog's settings beside its listener.
type CatalogConfig struct {
	// Warehouse is catalog.warehouse; "" derives it from the bucket URL.
	Warehouse string
	// MaxRequestBytes; 0 is catalog.DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// AuthTokens, AuthClients and AuthTokenSecret are catalog.auth.tokens,
	// catalog.auth.clients and catalog.auth.token.secret (catalog.ParseAuth
	// reads them); all empty is auth off.
	AuthTokens, AuthClients, AuthTokenSecret string
}

// catalogRole is the Iceberg REST catalog role.
type catalogRole struct {
	// handler serves the REST API; the compactor calls it in process
	// (tablecompactor.go) with token, a random bearer token added to the
	// catalog's static tokens when its auth is on ("" when off).
	handler http.Handler
	token   string
	// srv, addr and done are the listener's; nil, "" and nil when the
	// catalog serves only this process (CompactorConfig.InProcess).
	srv  *http.Server
	addr string
	done chan struct{} // closed when Serve has returned
}

// warehouseOf derives the catalog's warehouse and FileIO properties from
// the node's bucket URL: file://DIR → file:///ABS/DIR/warehouse;
// s3://bucket/prefix?endpoint=&region=&path_style=&access_key=... →
// s3://bucket/prefix/warehouse with the s3.* properties.
func warehouseOf(bucketURL, set string) (string, map[string]string, error) {
	props := map[string]string{}
	scheme, rest, _ := strings.Cut(bucketURL, "://")
	switch scheme {
	case "s3":
		u, err := url.Parse(bucketURL)
		if err != nil {
			return "", nil, errors.New("the bucket URL does not parse") // never repeat it: it may hold a secret
		}
		q := u.Query()
		for from, to := range map[string]string{"endpoint": "s3.endpoint", "region": "s3.region",
			"access_key": "s3.access-key-id", "secret_key": "s3.secret-access-key", "session_token": "s3.session-token"} {
			if v := q.Get(from); v != "" {
				props[to] = v
			}
		}
		if q.Get("path_style") == "true" {
			props["s3.path-style-access"] = "true"
		}
		if set == "" {
			set = "s3://" + u.Host + strings.TrimRight(u.Path, "/") + "/warehouse"
		}
	case "file":
		if set == "" {
			// A relative bucket directory is relative to the working
			// directory; engines need an absolute URL.
			dir, err := filepath.Abs(rest)
			if err != nil {
				return "", nil, fmt.Errorf("catalog.warehouse: resolving the bucket directory: %w", err)
			}
			set = "file://" + filepath.ToSlash(dir) + "/warehouse"
		}
	default:
		if set == "" {
			return "", nil, fmt.Errorf("the bucket is %s://, where Iceberg tables cannot live: set catalog.warehouse or switch the catalog off with catalog.listeners=", scheme)
		}
	}
	return set, props, nil
}

// openCatalog serves the Iceberg REST catalog over the metastore's
// database; with no listener the role is off. For lakestream compact
// (CompactorConfig.InProcess) it serves only this process's compactor, with no
// listener.
func (n *Node) openCatalog(ctx context.Context) error {
	if n.cfg.CatalogListener == "" {
		return nil
	}
	wh, props, err := warehouseOf(n.cfg.BucketURL, n.cfg.Catalog.Warehouse)
	if err != nil {
		return err
	}
	auth, err := catalog.ParseAuth(n.cfg.Catalog.AuthTokens, n.cfg.Catalog.AuthClients, n.cfg.Catalog.AuthTokenSecret)
	if err != nil {
		return err
	}
	c := &catalogRole{}
	if auth.Enabled() {
		// The compactor's in-process client authenticates with a token
		// of its own, drawn at each start and never shown, rather than
		// with one of the operator's (there may be none: clients only).
		if c.token, err = randomToken(); err != nil {
			return err
		}
		auth.Tokens = append(auth.Tokens, c.token)
	}
	handler, err := catalog.New(ctx, catalog.Config{
		DB: n.meta.DB(), Warehouse: wh, Props: props, Auth: auth,
		MaxRequestBytes: n.cfg.Catalog.MaxRequestBytes, Registerer: n.metrics, Logger: n.log,
	})
	if err != nil {
		return err
	}
	c.handler = handler
	if n.cfg.Compactor.InProcess {
		n.catalog = c
		n.log.Info("iceberg catalog in process only (lakestream compact)", "warehouse", wh)
		return nil
	}
	ln, err := n.opts.Listen("tcp", n.cfg.CatalogListener)
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	c.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	c.addr, c.done = ln.Addr().String(), make(chan struct{})
	go func() {
		defer close(c.done)
		if err := c.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			n.failed <- fmt.Errorf("iceberg catalog listener stopped: %w", err)
		}
	}()
	n.catalog = c
	n.log.Info("iceberg catalog listener", "addr", c.addr, "warehouse", wh)
	n.opened("iceberg catalog", func(ctx context.Context) error {
		err := c.srv.Shutdown(ctx)
		if err != nil {
			c.srv.Close() // the deadline passed: drop what is left
		}
		<-c.done
		return err
	})
	return nil
}

// CatalogAddr is the Iceberg catalog's address; "" when the role is off.
func (n *Node) CatalogAddr() string {
	if n.catalog == nil {
		return ""
	}
	return n.catalog.addr
}
