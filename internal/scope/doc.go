// Package scope holds the rules of an account — which namespaces and kinds
// it reaches and whether it may be written — and the Secret scrubbing, for
// the agent, the bridge and attach alike. One rule, one place: the bridge
// refuses a request outside an account's rules before it reaches the
// agent, the agent checks the same rules again, and attach grants the
// agent's RBAC from the same kind selection.
package scope
