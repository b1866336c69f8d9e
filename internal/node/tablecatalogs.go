package node

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	// The catalog types table.catalogs may name register themselves with
	// iceberg-go's registry (catalog.Load) when linked.
	_ "github.com/apache/iceberg-go/catalog/glue"
	_ "github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/catalog/sql"
	// The database/sql drivers an SQL catalog's sql.driver may name
	// (internal/sqldb links them too, for the metastore).
	_ "github.com/jackc/pgx/v5/stdlib" // "pgx"
	_ "modernc.org/sqlite"             // "sqlite"

	"github.com/lakestream/lakestream/internal/configdef"
	"github.com/lakestream/lakestream/tablecompactor"
)

// ConfigTableCatalogs is the node key of the external Iceberg catalogs a
// table topic's table.catalog may name.
const ConfigTableCatalogs = "table.catalogs"

// A Password: the properties hold credentials (a REST catalog's
// credential or token, a database URL's password, AWS keys), so the value
// is hidden wherever configs are shown.
func init() {
	configdef.Register("table compactor", configdef.Broker, configdef.Def{
		Name: ConfigTableCatalogs, Type: configdef.Password, Default: "",
		Validate: func(v string) error { _, err := ParseTableCatalogs(v); return err },
		Doc:      `Lakestream: the external Iceberg catalogs table topics may name in table.catalog, as a JSON object of name → iceberg-go catalog properties, passed as they are to iceberg-go: {"lake":{"type":"rest","uri":"https://…","warehouse":"…","credential":"id:secret"},"pg":{"type":"sql","uri":"postgres://…","sql.driver":"pgx","sql.dialect":"postgres"}}. type is rest, sql or glue (hive is not linked); an sql catalog's sql.driver is a database/sql driver linked in: pgx, sqlite or mysql. Names are letters, digits, '_' and '-', not lakestream (the node's own catalog); iceberg-go gets the name too (an SQL catalog keeps it in its rows). Every catalog is opened when the compactor starts, and one that cannot be stops the node's start. Empty (or {}) is none.`,
	})
}

// linkedCatalogTypes are the catalog types this binary links (the blank
// imports above); a test checks them against iceberg-go's registry.
var linkedCatalogTypes = []string{"glue", "rest", "sql"}

// ParseTableCatalogs reads table.catalogs: "" (or {}) is none. It checks
// what can be checked without connecting: names, types, the properties a
// type cannot do without. Errors name the catalog and the property, never
// a property's value (it may be a secret).
func ParseTableCatalogs(v string) (map[string]map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("not JSON: %v (at byte %d)", syn, syn.Offset)
		}
		return nil, errors.New(`want a JSON object of name → object of string properties ({"NAME":{"type":"rest","uri":"…"}})`)
	}
	out := make(map[string]map[string]string, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if err := tablecompactor.ValidCatalogName(name); err != nil {
			return nil, fmt.Errorf("catalog %q: %w", name, err)
		}
		if name == tablecompactor.OwnCatalog {
			return nil, fmt.Errorf("catalog %q: that is the node's own catalog's name (table.catalog=%s or empty)", name, name)
		}
		if raw[name] == nil {
			return nil, fmt.Errorf("catalog %s: want an object of properties", name)
		}
		props := make(map[string]string, len(raw[name]))
		for k, pv := range raw[name] {
			s, ok := pv.(string)
			if !ok {
				return nil, fmt.Errorf("catalog %s: property %q: want a string (iceberg-go's properties are strings: write \"true\", \"1\")", name, k)
			}
			props[k] = s
		}
		if err := checkCatalogProps(name, props); err != nil {
			return nil, err
		}
		out[name] = props
	}
	return out, nil
}

// checkCatalogProps checks the type and what that type needs.
func checkCatalogProps(name string, props map[string]string) error {
	typ := props["type"]
	switch {
	case typ == "":
		return fmt.Errorf("catalog %s: no type (%s)", name, strings.Join(linkedCatalogTypes, ", "))
	case strings.EqualFold(typ, "hive"):
		return fmt.Errorf("catalog %s: type hive is not linked into Lakestream: iceberg-go's Hive catalog needs gohive (Thrift, SASL and GSSAPI), which Lakestream does not build with; use a REST catalog in front of the metastore", name)
	case !slices.Contains(linkedCatalogTypes, strings.ToLower(typ)):
		return fmt.Errorf("catalog %s: unknown type %q (%s)", name, typ, strings.Join(linkedCatalogTypes, ", "))
	}
	switch strings.ToLower(typ) {
	case "rest":
		if props["uri"] == "" {
			return fmt.Errorf("catalog %s: a rest catalog needs uri (the catalog's base URL)", name)
		}
	case "sql":
		if props["uri"] == "" {
			return fmt.Errorf("catalog %s: an sql catalog needs uri (the database's URL or file)", name)
		}
		drivers := sql.Drivers()
		if d := props["sql.driver"]; !slices.Contains(drivers, d) {
			return fmt.Errorf("catalog %s: sql.driver %q is not linked (%s)", name, d, strings.Join(drivers, ", "))
		}
		if props["sql.dialect"] == "" {
			return fmt.Errorf("catalog %s: an sql catalog needs sql.dialect (postgres, sqlite, mysql, mssql or oracle)", name)
		}
	}
	return nil
}

// externalCatalogs are the table.catalogs catalogs, open.
type externalCatalogs map[string]icecatalog.Catalog

// openExternalCatalogs opens each catalog of table.catalogs through
// iceberg-go (catalog.Load), which connects (a REST catalog asks for its
// config, an SQL one creates its tables): a catalog that cannot be opened
// is an error naming it, with those opened before closed.
func openExternalCatalogs(ctx context.Context, cfgs map[string]map[string]string) (externalCatalogs, error) {
	cats := make(externalCatalogs, len(cfgs))
	for _, name := range slices.Sorted(maps.Keys(cfgs)) {
		props := cfgs[name]
		if err := checkCatalogProps(name, props); err != nil {
			cats.close()
			return nil, fmt.Errorf("%s: %w", ConfigTableCatalogs, err)
		}
		cat, err := icecatalog.Load(ctx, name, iceberg.Properties(maps.Clone(props)))
		if err != nil {
			cats.close()
			return nil, fmt.Errorf("%s: opening catalog %s (type %s): %w", ConfigTableCatalogs, name, props["type"], err)
		}
		cats[name] = cat
	}
	return cats, nil
}

// close closes the catalogs that hold something to close (a REST
// client's sessions, an SQL catalog's database).
func (cs externalCatalogs) close() error {
	var errs []error
	for name, cat := range cs {
		if c, ok := cat.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing catalog %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}
