// Package bench holds the bridge and agent benchmarks: propagation latency
// against a real kube-apiserver, the bridge's footprint with thousands of
// simulated agents, and the cached read path versus kube-apiserver. The
// exact commands and the figures are in RESULTS.md.
package bench
