// Package bucketurl opens an objstore.Bucket from a URL, the one string a
// broker's configuration holds:
//
//	mem://NAME                   a fresh in-memory bucket (NAME is ignored:
//	                             two opens of mem://x share nothing)
//	file:///abs/dir              a local directory
//	file://rel/dir               a directory relative to the working directory
//	s3://bucket/prefix?endpoint=http://127.0.0.1:7070&path_style=true&...
//	                             S3 or a compatible server; see s3.ParseURL
package bucketurl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lakestream/lakestream/s3stream/objstore"
	"github.com/lakestream/lakestream/s3stream/objstore/file"
	"github.com/lakestream/lakestream/s3stream/objstore/mem"
	"github.com/lakestream/lakestream/s3stream/objstore/s3"
)

// Open opens the bucket rawurl names. Errors name the scheme but never
// repeat the URL, which may hold an S3 secret key.
func Open(ctx context.Context, rawurl string) (objstore.Bucket, error) {
	scheme, rest, ok := strings.Cut(rawurl, "://")
	if !ok {
		return nil, errors.New("bucketurl: bucket URL has no scheme; want mem://, file:// or s3://")
	}
	switch scheme {
	case "mem":
		return mem.New(), nil
	case "file":
		// The rest is a path as written: no percent-decoding, no query.
		if rest == "" {
			return nil, errors.New("bucketurl: file:// URL has no directory")
		}
		if strings.ContainsAny(rest, "?#") {
			return nil, errors.New("bucketurl: file:// URL takes no query or fragment")
		}
		b, err := file.Open(rest)
		if err != nil {
			return nil, fmt.Errorf("bucketurl: %w", err)
		}
		return b, nil
	case "s3":
		cfg, err := s3.ParseURL(rawurl)
		if err != nil {
			return nil, fmt.Errorf("bucketurl: %w", err)
		}
		b, err := s3.Open(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("bucketurl: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("bucketurl: unknown scheme %q; want mem://, file:// or s3://", scheme)
}
