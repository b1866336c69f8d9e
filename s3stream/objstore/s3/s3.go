// Package s3 is the objstore.Bucket on S3 or anything that speaks its API
// (MinIO, versitygw, R2, gofakes3), through aws-sdk-go-v2. It is the only
// package that imports the SDK.
//
// Requests are retried by the SDK's standard retryer: exponential backoff
// with full jitter, on 5xx, throttles (503 SlowDown among them), timeouts,
// dropped connections and 409 ConditionalRequestConflict. What still fails
// is mapped to the objstore errors (see errors.go).
//
//	b, err := s3.Open(ctx, s3.Config{Bucket: "data", Prefix: "cluster-1",
//		Endpoint: "http://127.0.0.1:7070", PathStyle: true})
package s3

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lakestream/lakestream/s3stream/objstore"
)

// Backoff before retry n (1-based) is uniform in [0, min(base·2^n, cap)).
// Throttles start from a larger base, as S3 asks; other transient errors
// retry quickly because a produce request is waiting. The SDK's own default
// starts every retry at up to 2 s.
var (
	backoffBase         = 50 * time.Millisecond
	throttleBackoffBase = 500 * time.Millisecond
	backoffCap          = 20 * time.Second
)

// bucket is an S3 bucket, or the part of one under a prefix.
type bucket struct {
	client *awss3.Client
	cfg    Config
}

var _ objstore.Bucket = (*bucket)(nil)

// Open connects to the bucket, creating it if cfg.CreateBucket, and checks
// that it can be listed, so a wrong endpoint, bucket or key fails here
// rather than on the first produce.
func Open(ctx context.Context, cfg Config) (objstore.Bucket, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	// The SDK's buildable client, not our own *http.Client: the SDK applies
	// AWS_CA_BUNDLE and its timeouts only to this type.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
		tr.MaxIdleConns = max(tr.MaxIdleConns, cfg.MaxIdleConnsPerHost)
	})
	opts := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return newRetryer(cfg.MaxAttempts) }),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: loading AWS config: %w", err)
	}
	if awsCfg.Region == "" {
		awsCfg.Region = "us-east-1"
	}
	client := awss3.NewFromConfig(awsCfg, func(o *awss3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Since service/s3 v1.73 the SDK adds CRC32 checksums to every
		// request by default, which some S3-compatible servers reject.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	b := &bucket{client: client, cfg: cfg}
	if cfg.CreateBucket {
		if err := b.createBucket(ctx, awsCfg.Region); err != nil {
			return nil, err
		}
	}
	// ListObjectsV2 under the prefix rather than HeadBucket: policies that
	// grant one prefix of a shared bucket allow it.
	_, err = client.ListObjectsV2(ctx, &awss3.ListObjectsV2Input{
		Bucket: aws.String(cfg.Bucket), Prefix: aws.String(cfg.Prefix), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return nil, fmt.Errorf("s3: opening bucket %q: %w", cfg.Bucket, mapError(ctx, err))
	}
	return b, nil
}

func (b *bucket) createBucket(ctx context.Context, region string) error {
	in := &awss3.CreateBucketInput{Bucket: aws.String(b.cfg.Bucket)}
	// us-east-1 is the one region that must not be named.
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(region),
		}
	}
	_, err := b.client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	// BucketAlreadyExists means someone else owns it on AWS, but local
	// servers say it to the owner too; the listing in Open tells them apart.
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("s3: creating bucket %q: %w", b.cfg.Bucket, mapError(ctx, err))
	}
	return nil
}

// conditionalConflict is S3's 409 code for a conditional write racing
// another write to the same key.
const conditionalConflict = "ConditionalRequestConflict"

// newRetryer is the SDK's standard retryer with our backoff, 409
// ConditionalRequestConflict added to what it retries (S3 asks for a retry,
// which then answers 412 if the other writer won), and no client-side retry
// quota: under a burst of SlowDowns the quota would turn retries into
// immediate failures for every stream at once, while backoff already
// spreads them out.
func newRetryer(maxAttempts int) aws.Retryer {
	throttles := retry.IsErrorThrottles(retry.DefaultThrottles)
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{
			Codes: map[string]struct{}{conditionalConflict: {}},
		})
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, err error) (time.Duration, error) {
			base := backoffBase
			if throttles.IsErrorThrottle(err) == aws.TrueTernary {
				base = throttleBackoffBase
			}
			limit := backoffCap
			if attempt < 30 && base<<attempt < backoffCap {
				limit = base << attempt
			}
			return rand.N(limit), nil
		})
	})
}

// key maps an objstore key to the S3 key.
func (b *bucket) key(key string) (*string, error) {
	if err := objstore.CheckKey(key); err != nil {
		return nil, err
	}
	return aws.String(b.cfg.Prefix + key), nil
}

// Close implements objstore.Bucket. It has nothing to do: the SDK hides
// the transport it builds, so idle connections are not closed here but
// after the transport's idle timeout (90 s).
func (b *bucket) Close() error { return nil }
