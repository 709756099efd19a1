package agent

import (
	"log/slog"
	"reflect"
	"sort"
	"strings"
)

// The Armory agent's documented keys that have no meaning here, with why
// (docs.armory.io, Scale Agent service options; a Clouddriver account block
// may be pasted into kubernetes.accounts[] as is: "unused properties are
// ignored"). Keys with a meaning are fields of Config (see config.go):
// clouddriver.grpc / insecure / noProxy / keepAliveHeartbeatSeconds /
// keepAliveTimeOutSeconds / backoff.baseDelay / backoff.maxDelay /
// tls.cacertFile / tls.clientCertFile / tls.clientKeyFile / tls.serverName /
// tls.insecureSkipVerify / auth.token / auth.tokenCommand, server.port,
// kubernetes.accounts[].name / kubeconfigFile / kubeConfigFile / context /
// serviceAccount / namespaces / omitNamespaces / kinds / omitKinds /
// onlyNamespacedResources / permissions.
var armoryNoMeaning = map[string]string{
	"clouddriver.keepAliveOperationSeconds":                "the bridge's heartbeats keep the stream alive",
	"clouddriver.backoff.multiplier":                       "the reconnect backoff doubles",
	"clouddriver.backoff.jitter":                           "the reconnect backoff has 50-100% jitter",
	"clouddriver.tls.clientKeyPassword":                    "encrypted client keys are not read: give an unencrypted key file",
	"clouddriver.responseRetry":                            "results go back on the stream, which the bridge acknowledges",
	"clouddriver.auth.tokenCommand.refreshIntervalSeconds": "the credential is read when an account starts",
	"logging":                                         "the agent logs JSON to stderr (spinops agent --debug for every operation)",
	"prometheus":                                      "the agent has no metrics listener; the bridge exports its metrics",
	"secrets":                                         "kubeconfig and credential files are read from the filesystem (mount Secrets)",
	"kubernetes.reconnectTimeoutMs":                   "see bridge.reconnectMin / reconnectMax",
	"kubernetes.accounts[].insecure":                  "set insecure-skip-tls-verify in the account's kubeconfig",
	"kubernetes.accounts[].oAuthScopes":               "use an exec credential plugin in the kubeconfig",
	"kubernetes.accounts[].serviceAccountName":        "the pod's service account is used",
	"kubernetes.accounts[].metrics":                   "Clouddriver reads pod metrics through the bridge",
	"kubernetes.accounts[].onlySpinnakerManaged":      "a Clouddriver caching setting",
	"kubernetes.accounts[].maxResumableResourceAgeMs": "watches resume from the informers' resourceVersion",
	"kubernetes.accounts[].noProxy":                   "set proxy-url in the account's kubeconfig",
	"kubernetes.accounts[].customResourceDefinitions": "custom resources are discovered and watched",
	// Clouddriver Kubernetes account keys (a pasted Clouddriver block).
	"kubernetes.accounts[].providerVersion":                  "a Clouddriver account setting",
	"kubernetes.accounts[].cacheThreads":                     "a Clouddriver account setting",
	"kubernetes.accounts[].cacheIntervalSeconds":             "a Clouddriver account setting",
	"kubernetes.accounts[].cachingPolicies":                  "a Clouddriver account setting",
	"kubernetes.accounts[].cacheAllApplicationRelationships": "a Clouddriver account setting",
	"kubernetes.accounts[].checkPermissionsOnStartup":        "a Clouddriver account setting",
	"kubernetes.accounts[].configureImagePullSecrets":        "a Clouddriver account setting",
	"kubernetes.accounts[].debug":                            "a Clouddriver account setting",
	"kubernetes.accounts[].dockerRegistries":                 "a Clouddriver account setting",
	"kubernetes.accounts[].environment":                      "a Clouddriver account setting",
	"kubernetes.accounts[].kubectlExecutable":                "a Clouddriver account setting",
	"kubernetes.accounts[].kubectlPath":                      "a Clouddriver account setting",
	"kubernetes.accounts[].kubectlRequestTimeoutSeconds":     "a Clouddriver account setting",
	"kubernetes.accounts[].liveManifestCalls":                "a Clouddriver account setting",
	"kubernetes.accounts[].namingStrategy":                   "a Clouddriver account setting",
	"kubernetes.accounts[].oAuthServiceAccount":              "a Clouddriver account setting",
	"kubernetes.accounts[].rawResourcesEndpointConfig":       "a Clouddriver account setting",
	"kubernetes.accounts[].requiredGroupMembership":          "a Clouddriver account setting (use permissions)",
	"kubernetes.accounts[].skin":                             "a Clouddriver account setting",
	"kubernetes.accounts[].type":                             "a Clouddriver account setting",
	"kubernetes.accounts[].accountType":                      "a Clouddriver account setting",
}

// Notices are the keys of a config file the agent does not use.
type Notices struct {
	// NoMeaning: documented Armory keys with no meaning here, with why.
	NoMeaning map[string]string
	// Unknown: keys neither this agent nor the Armory agent documents.
	Unknown []string
}

// Log writes the notices: one line per key without meaning (Info), one
// warning naming every unknown key.
func (n Notices) Log(log *slog.Logger) {
	keys := make([]string, 0, len(n.NoMeaning))
	for k := range n.NoMeaning {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		log.Info("config key of the Armory agent has no meaning here: ignored", "key", k, "why", n.NoMeaning[k])
	}
	if len(n.Unknown) > 0 {
		log.Warn("unknown config keys ignored (a typo? the Armory agent's keys are accepted)", "keys", strings.Join(n.Unknown, ", "))
	}
}

// noticesOf walks a parsed config beside the Config type.
func noticesOf(doc any) Notices {
	n := Notices{NoMeaning: map[string]string{}}
	walkKeys(doc, reflect.TypeOf(Config{}), "", &n)
	sort.Strings(n.Unknown)
	return n
}

var durationType = reflect.TypeOf(Duration{})

func walkKeys(v any, t reflect.Type, path string, n *Notices) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		if items, ok := v.([]any); ok {
			for _, it := range items {
				walkKeys(it, t.Elem(), path+"[]", n)
			}
		}
		return
	case reflect.Struct:
		if t == durationType {
			return
		}
	default:
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, val := range m {
		p := k
		if path != "" {
			p = path + "." + k
		}
		if f, ok := fieldByJSON(t, k); ok {
			walkKeys(val, f.Type, p, n)
			continue
		}
		// bridge: and clouddriver: are the same block.
		ap := strings.Replace(p, "bridge.", "clouddriver.", 1)
		if why, ok := armoryNoMeaning[ap]; ok {
			n.NoMeaning[p] = why
			continue
		}
		n.Unknown = append(n.Unknown, p)
	}
}

// fieldByJSON finds the field a JSON key sets (exactly its tag: the
// unknown-key check is stricter than decoding, which ignores case).
func fieldByJSON(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == key && name != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
