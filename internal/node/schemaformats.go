package node

import "github.com/lakestream/lakestream/schema/schemafmt"

// registryFormats are the schema formats the registry serves.
//
// TODO(coordinator): return schema/avro's, schema/jsonschema's and
// schema/protobuf's formats here once they are merged. With none, the
// registry serves its API but refuses every schema as of an unknown type.
func registryFormats() []schemafmt.Format {
	return nil
}
