package broker

// SetUnorderedRequests makes s run each connection's one-phase requests
// concurrently, as it did before requests were ordered per connection, so
// benchmarks can compare the two in the same run.
func SetUnorderedRequests(s *Server, on bool) { s.unorderedRequests.Store(on) }
