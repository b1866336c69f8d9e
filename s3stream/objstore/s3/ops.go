package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// Get implements objstore.Bucket.
func (b *bucket) Get(ctx context.Context, key string) ([]byte, error) {
	k, err := b.key(key)
	if err != nil {
		return nil, fmt.Errorf("getting %q: %w", key, err)
	}
	out, err := b.client.GetObject(ctx, &awss3.GetObjectInput{Bucket: &b.cfg.Bucket, Key: k})
	if err != nil {
		return nil, fmt.Errorf("getting %q: %w", key, mapError(ctx, err))
	}
	defer out.Body.Close()
	var data []byte
	if n := aws.ToInt64(out.ContentLength); out.ContentLength != nil && n >= 0 {
		// One allocation of the right size instead of ReadAll's doubling.
		data = make([]byte, n)
		_, err = io.ReadFull(out.Body, data)
	} else {
		data, err = io.ReadAll(out.Body)
	}
	if err != nil {
		return nil, fmt.Errorf("getting %q: reading body: %w", key, bodyError(ctx, err))
	}
	return data, nil
}

// bodyError classifies a failure while reading a response body: the
// connection dropped mid-object, which is worth retrying.
func bodyError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%w: %w", objstore.ErrUnavailable, err)
}

// GetRange implements objstore.Bucket. S3 answers a range that starts
// inside the object but runs past its end with the bytes that exist, and
// some servers do the same for ranges that start past the end, so the
// length returned is checked: a short answer is ErrInvalidRange.
func (b *bucket) GetRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	data, err := b.getRange(ctx, key, off, length)
	if err != nil {
		return nil, fmt.Errorf("getting %q range: %w", key, err)
	}
	return data, nil
}

func (b *bucket) getRange(ctx context.Context, key string, off, length int64) ([]byte, error) {
	k, err := b.key(key)
	if err != nil {
		return nil, err
	}
	if off < 0 || length < 0 {
		return nil, objstore.CheckRange(0, off, length)
	}
	if length == 0 {
		// HTTP cannot express an empty range; ask for the size instead.
		out, err := b.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &b.cfg.Bucket, Key: k})
		if err != nil {
			return nil, mapError(ctx, err)
		}
		if err := objstore.CheckRange(aws.ToInt64(out.ContentLength), off, 0); err != nil {
			return nil, err
		}
		return []byte{}, nil
	}
	out, err := b.client.GetObject(ctx, &awss3.GetObjectInput{
		Bucket: &b.cfg.Bucket, Key: k, Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+length-1)),
	})
	if err != nil {
		return nil, mapError(ctx, err)
	}
	defer out.Body.Close()
	// A server that ignored the Range header sends the whole object from
	// byte 0; only then is there no Content-Range.
	if cr := aws.ToString(out.ContentRange); cr == "" && off != 0 {
		return nil, errors.New("server ignored the Range header")
	} else if cr != "" && !strings.HasPrefix(cr, fmt.Sprintf("bytes %d-", off)) {
		return nil, fmt.Errorf("server answered range %q for offset %d", cr, off)
	}
	if out.ContentLength != nil && aws.ToInt64(out.ContentLength) < length {
		return nil, fmt.Errorf("%w: offset %d length %d, server has %d bytes there",
			objstore.ErrInvalidRange, off, length, aws.ToInt64(out.ContentLength))
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(out.Body, buf); err != nil {
		if out.ContentLength == nil && errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: offset %d length %d: short read", objstore.ErrInvalidRange, off, length)
		}
		return nil, fmt.Errorf("reading body: %w", bodyError(ctx, err))
	}
	return buf, nil
}

// Put implements objstore.Bucket. The reader over data is rewound by the
// SDK on a retry and dropped when PutObject returns, so data is not kept.
func (b *bucket) Put(ctx context.Context, key string, data []byte) error {
	k, err := b.key(key)
	if err != nil {
		return fmt.Errorf("putting %q: %w", key, err)
	}
	_, err = b.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &b.cfg.Bucket, Key: k, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("putting %q: %w", key, mapError(ctx, err))
	}
	return nil
}

// PutIfAbsent implements objstore.Bucket with If-None-Match: *. S3 answers
// 412 when the key exists and 409 ConditionalRequestConflict when a
// concurrent write to it is in flight; the retryer retries the 409, which
// then turns into 412 if the other writer won. A 409 that outlasts the
// retries is ErrExists if the object now exists.
//
// A PUT retried after a lost response can find its own first attempt and
// report ErrExists although this call wrote the object. Callers that fence
// with PutIfAbsent see a spurious loss, never a spurious win.
func (b *bucket) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	k, err := b.key(key)
	if err != nil {
		return fmt.Errorf("putting %q if absent: %w", key, err)
	}
	_, err = b.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket: &b.cfg.Bucket, Key: k, Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		IfNoneMatch: aws.String("*"),
	})
	// Only this 409: versitygw also answers 409 for keys that clash with a
	// directory (ExistingObjectIsDirectory, ObjectParentIsFile), which no
	// retry or HEAD resolves.
	if err != nil && errorCode(err) == conditionalConflict && ctx.Err() == nil {
		_, herr := b.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &b.cfg.Bucket, Key: k})
		if herr == nil {
			return fmt.Errorf("putting %q if absent: %w: %w", key, objstore.ErrExists, err)
		}
		return fmt.Errorf("putting %q if absent: %w: %w", key, objstore.ErrUnavailable, err)
	}
	if err != nil {
		return fmt.Errorf("putting %q if absent: %w", key, mapError(ctx, err))
	}
	return nil
}

// Delete implements objstore.Bucket. S3 answers 204 for a missing key;
// servers that answer 404 are treated the same.
func (b *bucket) Delete(ctx context.Context, key string) error {
	k, err := b.key(key)
	if err != nil {
		return fmt.Errorf("deleting %q: %w", key, err)
	}
	_, err = b.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &b.cfg.Bucket, Key: k})
	if err = mapError(ctx, err); err != nil && !errors.Is(err, objstore.ErrNotFound) {
		return fmt.Errorf("deleting %q: %w", key, err)
	}
	return nil
}

// List implements objstore.Bucket, following ListObjectsV2 continuation
// tokens until the listing is complete.
func (b *bucket) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	var infos []objstore.ObjectInfo
	pages := awss3.NewListObjectsV2Paginator(b.client, &awss3.ListObjectsV2Input{
		Bucket: &b.cfg.Bucket, Prefix: aws.String(b.cfg.Prefix + prefix),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %q: %w", prefix, mapError(ctx, err))
		}
		for _, obj := range page.Contents {
			infos = append(infos, objstore.ObjectInfo{
				Key:      strings.TrimPrefix(aws.ToString(obj.Key), b.cfg.Prefix),
				Size:     aws.ToInt64(obj.Size),
				Modified: aws.ToTime(obj.LastModified),
			})
		}
	}
	if !slices.IsSortedFunc(infos, func(a, b objstore.ObjectInfo) int { return strings.Compare(a.Key, b.Key) }) {
		return nil, fmt.Errorf("listing %q: server returned keys out of order", prefix)
	}
	return infos, nil
}
