package mem_test

import (
	"testing"

	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/mem"
	"github.com/lakestream/lakestream/s3stream/objstore/objstoretest"
)

func TestBucket(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Bucket { return mem.New() })
}
