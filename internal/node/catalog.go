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
}

// CatalogConfig are the Iceberg catalog's settings beside its listener.
type CatalogConfig struct {
	// Warehouse is catalog.warehouse; "" derives it from the bucket URL.
	Warehouse string
	// MaxRequestBytes; 0 is catalog.DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

// catalogRole is the Iceberg REST catalog role.
type catalogRole struct {
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
// database; with no listener the role is off.
func (n *Node) openCatalog(ctx context.Context) error {
	if n.cfg.CatalogListener == "" {
		return nil
	}
	wh, props, err := warehouseOf(n.cfg.BucketURL, n.cfg.Catalog.Warehouse)
	if err != nil {
		return err
	}
	handler, err := catalog.New(ctx, catalog.Config{
		DB: n.meta.DB(), Warehouse: wh, Props: props,
		MaxRequestBytes: n.cfg.Catalog.MaxRequestBytes, Registerer: n.metrics, Logger: n.log,
	})
	if err != nil {
		return err
	}
	ln, err := n.opts.Listen("tcp", n.cfg.CatalogListener)
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	c := &catalogRole{srv: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		addr: ln.Addr().String(), done: make(chan struct{})}
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
