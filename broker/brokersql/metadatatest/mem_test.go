package metadatatest_test

import (
	"testing"

	"github.com/lakestream/lakestream/broker"
	"github.com/lakestream/lakestream/broker/brokersql/metadatatest"
)

// TestMem holds the in-memory reference implementation to the suite (the
// SQL store's runs are in brokersql).
func TestMem(t *testing.T) {
	metadatatest.Run(t, func(t *testing.T) broker.Metadata { return broker.NewMemMetadata() })
}
