package kube

import (
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigRESTConfig loads ConfigPath and applies the cluster overrides
// (Host, ClusterCACertificate, Insecure). Credentials are applied later by
// applyCredentials.
func (c Connection) kubeconfigRESTConfig() (*rest.Config, error) {
	paths, err := expandConfigPaths(c.ConfigPath)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, configErrorf("config_path", "Kubeconfig not found",
					"file %s does not exist; set config_path to an existing kubeconfig or remove it", p)
			}
			return nil, configErrorf("config_path", "Kubeconfig not readable", "reading %s: %v", p, err)
		}
	}
	where := strings.Join(paths, string(filepath.ListSeparator))

	// Built by hand rather than with NewDefaultClientConfigLoadingRules so
	// that $KUBECONFIG never leaks in: config_path alone says what to load.
	rules := &clientcmd.ClientConfigLoadingRules{}
	if len(paths) == 1 {
		rules.ExplicitPath = paths[0]
	} else {
		rules.Precedence = paths
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, configErrorf("config_path", "Invalid kubeconfig", "loading %s: %v", where, err)
	}

	if err := checkContext(raw, c.ConfigContext, where); err != nil {
		return nil, err
	}

	overrides := &clientcmd.ConfigOverrides{
		ClusterInfo: clientcmdapi.Cluster{
			CertificateAuthorityData: []byte(c.ClusterCACertificate),
			InsecureSkipTLSVerify:    c.Insecure,
		},
	}
	if c.Host != "" {
		overrides.ClusterInfo.Server = normalizeHost(c.Host)
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, c.ConfigContext, overrides, rules).ClientConfig()
	if err != nil {
		return nil, configErrorf("config_path", "Invalid kubeconfig",
			"building a client configuration from %s (context %q): %v", where, contextName(raw, c.ConfigContext), err)
	}
	if cfg.Host == "" {
		return nil, configErrorf("host", "No Kubernetes API server",
			"context %q of %s names no cluster server; set host or fix the kubeconfig", contextName(raw, c.ConfigContext), where)
	}
	return cfg, nil
}

// checkContext makes sure the context to use exists, listing the available
// ones when it does not.
func checkContext(raw *clientcmdapi.Config, want, where string) error {
	available := slices.Sorted(maps.Keys(raw.Contexts))
	list := strings.Join(available, ", ")
	if len(available) == 0 {
		list = "(none)"
	}

	switch {
	case want != "":
		if _, ok := raw.Contexts[want]; !ok {
			return configErrorf("config_context", "Kubeconfig context not found",
				"context %q is not in %s; available contexts: %s", want, where, list)
		}
	case raw.CurrentContext == "":
		return configErrorf("config_context", "No kubeconfig context",
			"%s sets no current-context; set config_context to one of: %s", where, list)
	default:
		if _, ok := raw.Contexts[raw.CurrentContext]; !ok {
			return configErrorf("config_context", "Kubeconfig context not found",
				"current-context %q of %s does not exist; set config_context to one of: %s", raw.CurrentContext, where, list)
		}
	}
	return nil
}

func contextName(raw *clientcmdapi.Config, want string) string {
	if want != "" {
		return want
	}
	return raw.CurrentContext
}

// expandConfigPaths splits a KUBECONFIG-style list, expands a leading "~"
// and drops empty entries and duplicates.
func expandConfigPaths(value string) ([]string, error) {
	var paths []string
	for _, p := range filepath.SplitList(value) {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if p == "~" || strings.HasPrefix(p, "~/") {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, configErrorf("config_path", "Cannot expand ~", "expanding %s: %v; give an absolute path", p, err)
			}
			p = filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, configErrorf("config_path", "Invalid kubeconfig path", "config_path %q names no file", value)
	}
	return paths, nil
}
