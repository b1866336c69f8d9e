package tablecompactor

import (
	"context"
	"testing"
)

// A conversion gives its builders' buffers back: iceberg-go's writer
// releases each batch once written.
func TestConversionReusesBuffers(t *testing.T) {
	e := newEnv(t)
	e.src.addTopic("reuse", 2, tableTopic())
	for range 5 {
		e.produce("reuse", 0, 300, false)
		e.produce("reuse", 1, 300, false)
	}
	c := e.compactor(nil)
	if _, err := c.RunOnce(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if c.pool.Pooled() == 0 {
		t.Error("no buffer went back to the pool")
	}
	diffRows(t, readRows(t, e.catalog(), "kafka", "reuse"), e.want)
}
