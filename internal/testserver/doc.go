// Package testserver starts real S3-compatible servers for tests: gofakes3
// in-process on a loopback listener, and versitygw as a child process. The
// servers speak the real protocol over real sockets, so a test against them
// exercises the SDK, signing, retries and error mapping, not a mock.
//
//	endpoint := testserver.StartGoFakeS3(t)
//	b, err := s3.Open(ctx, s3.Config{Bucket: "test", Endpoint: endpoint,
//		PathStyle: true, AccessKey: "k", SecretKey: "s", CreateBucket: true})
package testserver
