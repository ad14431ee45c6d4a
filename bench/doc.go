// Package bench measures irsa-guard's admission path as the API server sees it: AdmissionReviews
// POSTed over HTTPS to the real controller-runtime webhook server with irsa-guard's handlers
// registered, AWS reached through the real SDK against fakeaws on loopback. Every figure is
// reported next to a baseline measured in the same run (the same server and request answered
// by an allow-all handler), because the shared 2-core machine makes absolute times noisy.
// The benchmarks live in the package's tests; hack/bench.sh runs them and prints the table
// that docs/performance.md records.
package bench
