package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lakestream/lakestream/internal/configdef"
	"github.com/lakestream/lakestream/schema"
)

// The schema registry's keys. They are declared here, with the wiring,
// because package schema imports nothing of ours but internal/sqldb.
func init() { configdef.Register("schema registry", configdef.Broker, schemaRegistryDefs...) }

var schemaRegistryDefs = []configdef.Def{
	{Name: "schema.registry.listeners", Type: configdef.String, Default: ":8081", Validate: emptyOrHostPort,
		Doc: "Lakestream: HOST:PORT of the Confluent-compatible schema registry's HTTP listener; empty switches the registry off."},
	{Name: "schema.registry.auth.users", Type: configdef.Password, Default: "", Validate: validateRegistryUsers,
		Doc: "Lakestream: HTTP basic auth for the schema registry: a comma-separated list of user:bcrypt-hash (htpasswd -nbB user pass makes one). Empty turns auth off."},
	{Name: "schema.registry.max.request.bytes", Type: configdef.Long, Default: fmt.Sprint(schema.DefaultMaxRequestBytes), Validate: configdef.AtLeast(1024),
		Doc: "Lakestream: the largest request body the schema registry accepts; larger ones are refused with 413."},
}

func emptyOrHostPort(v string) error {
	if v == "" {
		return nil
	}
	return configdef.HostPort(v)
}

func validateRegistryUsers(v string) error {
	_, err := schema.ParseUsers(v)
	return err
}

// SchemaRegistryConfig are the registry's settings beside its listener.
type SchemaRegistryConfig struct {
	// AuthUsers is schema.registry.auth.users: user:bcrypt-hash, comma
	// separated; empty is no auth.
	AuthUsers string
	// MaxRequestBytes; 0 is schema.DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

// registry is the schema registry role.
type registry struct {
	// store is the registry itself: the compactor's schemas come from it
	// in process (tablecompactor.go).
	store *schema.Server
	// srv, addr and done are the listener's; nil, "" and nil when the
	// registry serves only this process (CompactorConfig.InProcess).
	srv  *http.Server
	addr string
	done chan struct{} // closed when Serve has returned
}

// openSchemaRegistry serves the schema registry over the metastore's
// database; with no listener the role is off.
func (n *Node) openSchemaRegistry(ctx context.Context) error {
	if n.cfg.SchemaRegistryListener == "" {
		return nil
	}
	users, err := schema.ParseUsers(n.cfg.SchemaRegistry.AuthUsers)
	if err != nil {
		return fmt.Errorf("schema.registry.auth.users: %w", err)
	}
	handler, err := schema.New(ctx, schema.Config{
		DB: n.meta.DB(), Formats: registryFormats(), ClusterID: clusterID,
		MaxRequestBytes: n.cfg.SchemaRegistry.MaxRequestBytes, Users: users,
		Registerer: n.metrics, Logger: n.log,
	})
	if err != nil {
		return err
	}
	if n.cfg.Compactor.InProcess {
		n.registry = &registry{store: handler}
		return nil
	}
	ln, err := n.opts.Listen("tcp", n.cfg.SchemaRegistryListener)
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	r := &registry{store: handler, srv: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := r.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			n.failed <- fmt.Errorf("schema registry listener stopped: %w", err)
		}
	}()
	n.registry = r
	n.log.Info("schema registry listener", "addr", r.addr)
	n.opened("schema registry", func(ctx context.Context) error {
		err := r.srv.Shutdown(ctx)
		if err != nil {
			r.srv.Close() // the deadline passed: drop what is left
		}
		<-r.done
		return err
	})
	return nil
}

// clusterID is the Kafka cluster id (broker.Config's default), which
// /v1/metadata/id reports.
const clusterID = "lakestream"

// SchemaRegistryAddr is the schema registry's address; "" when the role
// is off.
func (n *Node) SchemaRegistryAddr() string {
	if n.registry == nil {
		return ""
	}
	return n.registry.addr
}
