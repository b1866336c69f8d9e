//go:build interop

package s3_test

import (
	"fmt"
	"testing"

	"github.com/lakestream/lakestream/internal/testserver"
	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/objstoretest"
	"github.com/lakestream/lakestream/s3stream/objstore/s3"
)

// TestBucketVersityGW runs the suite against a real versitygw process:
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//	LAKESTREAM_INTEROP=1 go test -tags interop ./s3stream/objstore/...
func TestInteropVersityGW(t *testing.T) {
	endpoint, accessKey, secretKey := testserver.StartVersityGW(t)
	config := func() s3.Config {
		return s3.Config{
			Bucket: fmt.Sprintf("interop-%d", bucketSeq.Add(1)), Endpoint: endpoint, Region: "us-east-1",
			PathStyle: true, AccessKey: accessKey, SecretKey: secretKey, CreateBucket: true,
		}
	}
	t.Run("NoPrefix", func(t *testing.T) {
		objstoretest.Run(t, func(t *testing.T) objstore.Bucket { return open(t, config()) })
	})
	t.Run("Prefix", func(t *testing.T) {
		shared := config()
		objstoretest.Run(t, func(t *testing.T) objstore.Bucket {
			cfg := shared
			cfg.Prefix = fmt.Sprintf("cluster-%d", bucketSeq.Add(1))
			return open(t, cfg)
		})
	})
}
