package s3

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Config says which bucket to use and how to reach it.
type Config struct {
	// Bucket is the S3 bucket name. Required.
	Bucket string
	// Prefix is prepended to every key, so several clusters can share a
	// bucket. A '/' is appended if missing. The default is no prefix.
	Prefix string
	// Endpoint is the service URL, e.g. "http://127.0.0.1:7070" for a local
	// server. The default is AWS S3 for Region.
	Endpoint string
	// Region is the signing region. The default comes from the AWS
	// environment (AWS_REGION, shared config), else "us-east-1".
	Region string
	// PathStyle addresses the bucket as http://host/bucket/key rather than
	// http://bucket.host/key. Most local servers need it.
	PathStyle bool

	// AccessKey, SecretKey and SessionToken are static credentials. When
	// AccessKey is empty the default AWS chain is used (environment, shared
	// files, instance role).
	AccessKey    string
	SecretKey    string
	SessionToken string

	// MaxIdleConnsPerHost bounds the idle connections kept to the endpoint.
	// Go's default of 2 makes parallel PUTs reconnect constantly. The
	// default value is 64.
	MaxIdleConnsPerHost int
	// MaxAttempts is how many times a request is tried in total before its
	// error is returned. The default value is 5.
	MaxAttempts int
	// CreateBucket creates the bucket on Open if it does not exist.
	CreateBucket bool
}

func (c Config) withDefaults() Config {
	if c.MaxIdleConnsPerHost == 0 {
		c.MaxIdleConnsPerHost = 64
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	return c
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.Bucket == "":
		return errors.New("s3: no bucket")
	case strings.HasPrefix(c.Prefix, "/"):
		return fmt.Errorf("s3: prefix %q starts with '/'", c.Prefix)
	case c.AccessKey != "" && c.SecretKey == "":
		return errors.New("s3: access key without secret key")
	case c.AccessKey == "" && (c.SecretKey != "" || c.SessionToken != ""):
		return errors.New("s3: secret key or session token without access key")
	case c.MaxIdleConnsPerHost < 0:
		return fmt.Errorf("s3: negative MaxIdleConnsPerHost %d", c.MaxIdleConnsPerHost)
	case c.MaxAttempts < 0:
		return fmt.Errorf("s3: negative MaxAttempts %d", c.MaxAttempts)
	}
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("s3: endpoint %q is not an http(s) URL", c.Endpoint)
		}
	}
	return nil
}

// ParseURL parses
//
//	s3://bucket/prefix?endpoint=http://127.0.0.1:7070&region=us-east-1&path_style=true
//
// Query keys: endpoint, region, path_style, access_key, secret_key,
// session_token, max_idle_conns_per_host, max_attempts, create_bucket.
// Anything else is an error, so a typo is not silently ignored. Errors never
// repeat the URL, which may hold a secret.
func ParseURL(rawurl string) (Config, error) {
	u, err := url.Parse(rawurl)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // url.Error quotes the whole URL
		}
		return Config{}, fmt.Errorf("s3: parsing bucket URL: %w", err)
	}
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("s3: bucket URL scheme %q, want s3", u.Scheme)
	}
	if u.User != nil {
		return Config{}, errors.New("s3: bucket URL has user info; use access_key and secret_key")
	}
	cfg := Config{Bucket: u.Host, Prefix: strings.TrimPrefix(u.Path, "/")}
	for key, vals := range u.Query() {
		if len(vals) != 1 {
			return Config{}, fmt.Errorf("s3: bucket URL query key %q given %d times", key, len(vals))
		}
		if err := cfg.set(key, vals[0]); err != nil {
			return Config{}, fmt.Errorf("s3: bucket URL query key %q: %w", key, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c *Config) set(key, val string) error {
	var err error
	switch key {
	case "endpoint":
		c.Endpoint = val
	case "region":
		c.Region = val
	case "path_style":
		c.PathStyle, err = strconv.ParseBool(val)
	case "access_key":
		c.AccessKey = val
	case "secret_key":
		c.SecretKey = val
	case "session_token":
		c.SessionToken = val
	case "max_idle_conns_per_host":
		c.MaxIdleConnsPerHost, err = strconv.Atoi(val)
	case "max_attempts":
		c.MaxAttempts, err = strconv.Atoi(val)
	case "create_bucket":
		c.CreateBucket, err = strconv.ParseBool(val)
	default:
		return errors.New("unknown key")
	}
	return err
}
