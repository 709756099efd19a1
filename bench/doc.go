// Package bench holds the bridge and agent benchmarks: propagation latency
// against a real kube-apiserver, the bridge's footprint with thousands of
// simulated agents, the cached read path versus kube-apiserver, a change
// until Clouddriver has re-read it, and another account's latency behind
// stalled readers. The exact commands and the figures are in RESULTS.md.
package bench
