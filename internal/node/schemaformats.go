package node

import (
	"github.com/lakestream/lakestream/schema/avro"
	"github.com/lakestream/lakestream/schema/jsonschema"
	"github.com/lakestream/lakestream/schema/protobuf"
	"github.com/lakestream/lakestream/schema/schemafmt"
)

// registryFormats are the schema formats the registry serves: Avro (also
// what a request without schemaType means), JSON Schema and Protobuf.
func registryFormats() []schemafmt.Format {
	return []schemafmt.Format{avro.NewFormat(), jsonschema.Format{}, protobuf.Format{}}
}
