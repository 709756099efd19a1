// Package migrate turns what an existing installation runs into spinops
// Terraform. This file: an Armory Agent for Kubernetes configuration
// (kubesvc.yaml) into spinops_agent_account resources.
package migrate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
)

// ArmoryOptions shape the generated configuration.
type ArmoryOptions struct {
	// SpinnakerNamespace is the zone namespace the SpinnakerAccounts go
	// to, written as the given HCL expression text when it is not a plain
	// name (e.g. spinops_zone.green.namespace); empty: a variable.
	SpinnakerNamespace string
}

// Report is what the generated configuration does not carry over, each
// with why: never silently dropped.
type Report struct {
	// Unmapped are settings of the Armory config without an equivalent,
	// as "key: why".
	Unmapped []string
	// Notes are what the reader must do by hand.
	Notes []string
}

func (r Report) String() string {
	var b strings.Builder
	if len(r.Unmapped) > 0 {
		b.WriteString("Not carried over:\n")
		for _, u := range r.Unmapped {
			b.WriteString("  - " + u + "\n")
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("To do by hand:\n")
		for _, n := range r.Notes {
			b.WriteString("  - " + n + "\n")
		}
	}
	return b.String()
}

var (
	labelRE       = regexp.MustCompile(`[^a-z0-9_]+`)
	identStartRE  = regexp.MustCompile(`^[a-z_]`)
	simpleRefRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+$`)
	namespaceNmRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// resourceLabel is a Terraform resource name for an account name.
func resourceLabel(account string) string {
	l := labelRE.ReplaceAllString(strings.ToLower(account), "_")
	if !identStartRE.MatchString(l) {
		l = "a_" + l
	}
	return l
}

// accountName is name as a DNS-1123 label (what spinops account names
// are): lowercase, every other character '-', at most 63 characters.
func accountName(name string) string {
	n := strings.Trim(regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}

// ArmoryAgentToHCL writes one spinops_agent_account per account of an
// Armory agent config: its name, kinds, namespaces and permissions as
// they are, in the mode that matches how the Armory agent reached the
// cluster (in-cluster service account: the agent installed in that
// cluster; a kubeconfig: an infrastructure-mode agent the team deploys,
// its credential written to a Secret). Credentials and the bridge token
// are never written: the bridge derives new ones.
func ArmoryAgentToHCL(raw []byte, o ArmoryOptions) ([]byte, Report, error) {
	var rep Report
	cfg, err := agent.ParseConfig(raw)
	if err != nil {
		return nil, rep, fmt.Errorf("reading the Armory agent config: %w", err)
	}
	if len(cfg.Kubernetes.Accounts) == 0 {
		return nil, rep, fmt.Errorf("the Armory agent config has no kubernetes.accounts: nothing to migrate")
	}
	keys := make([]string, 0, len(cfg.Notices.NoMeaning))
	for k := range cfg.Notices.NoMeaning {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rep.Unmapped = append(rep.Unmapped, k+": "+cfg.Notices.NoMeaning[k])
	}
	for _, k := range cfg.Notices.Unknown {
		rep.Unmapped = append(rep.Unmapped, k+": not a key the Armory agent documents (a typo?)")
	}

	f := hclwrite.NewEmptyFile()
	body := f.Body()
	ns := o.SpinnakerNamespace
	nsExpr := func(b *hclwrite.Body) {
		switch {
		case ns == "":
			b.SetAttributeTraversal("namespace", traversal("var.spinnaker_namespace"))
		case namespaceNmRE.MatchString(ns):
			b.SetAttributeValue("namespace", cty.StringVal(ns))
		case simpleRefRE.MatchString(ns):
			b.SetAttributeTraversal("namespace", traversal(ns))
		default:
			b.SetAttributeValue("namespace", cty.StringVal(ns))
		}
	}
	if ns == "" {
		v := body.AppendNewBlock("variable", []string{"spinnaker_namespace"}).Body()
		v.SetAttributeValue("description", cty.StringVal("Namespace of the zone whose Clouddriver gets these accounts (spinops_zone.<zone>.namespace)."))
		v.SetAttributeTraversal("type", traversal("string"))
		body.AppendNewline()
	}
	seen := map[string]bool{}
	for _, a := range cfg.Kubernetes.Accounts {
		label := resourceLabel(a.Name)
		for seen[label] {
			label += "_"
		}
		seen[label] = true
		name := accountName(a.Name)
		if name != a.Name {
			rep.Notes = append(rep.Notes, fmt.Sprintf("account %s is %s here: spinops account names are DNS-1123 labels (lowercase letters, digits, '-'); "+
				"pipelines and applications that name the account must use the new name", a.Name, name))
			a.Name = name
		}
		kubeconfig := a.KubeconfigFile
		if kubeconfig == "" {
			kubeconfig = a.KubeConfigFileArmory
		}
		appendAgentAccount(body, label, agentAccountSpec{
			Name: a.Name, Kinds: a.Kinds, OmitKinds: a.OmitKinds, Namespaces: a.Namespaces, OmitNamespaces: a.OmitNamespaces,
			OnlyNamespaced: a.OnlyNamespacedResources, Read: a.Permissions.Read, Write: a.Permissions.Write,
			InCluster: a.ServiceAccount, Kubeconfig: kubeconfig, Context: a.Context,
			inClusterNote: "the Armory agent ran in its cluster with a service account", remove: "the Armory agent's Deployment",
			reachedBy: "the Armory agent reached it with",
		}, nsExpr, &rep)
		if a.Credential != "" || a.CredentialFile != "" {
			rep.Unmapped = append(rep.Unmapped, fmt.Sprintf("kubernetes.accounts[%s].credential: not written; the bridge derives a new credential for every registered account", a.Name))
		}
	}
	return f.Bytes(), rep, nil
}

// agentAccountSpec is one account to serve through spinops' bridge.
type agentAccountSpec struct {
	Name                                         string
	Kinds, OmitKinds, Namespaces, OmitNamespaces []string
	OnlyNamespaced                               bool
	Read, Write                                  []string
	// InCluster: the account was read through a service account in its own
	// cluster; else through Kubeconfig (and Context).
	InCluster           bool
	Kubeconfig, Context string
	// Report wording: what ran in the cluster, what to remove, and how the
	// old setup reached a kubeconfig account.
	inClusterNote, remove, reachedBy string
}

// appendAgentAccount writes one spinops_agent_account: in agent mode with
// install_agent for an in-cluster account, in infrastructure mode with
// credential_secret for a kubeconfig account, with the report's notes.
func appendAgentAccount(body *hclwrite.Body, label string, a agentAccountSpec, nsExpr func(*hclwrite.Body), rep *Report) {
	r := body.AppendNewBlock("resource", []string{"spinops_agent_account", label}).Body()
	r.SetAttributeValue("name", cty.StringVal(a.Name))
	mode := "agent"
	if !a.InCluster {
		mode = "infrastructure"
	}
	r.SetAttributeValue("mode", cty.StringVal(mode))
	setList(r, "kinds", a.Kinds)
	setList(r, "omit_kinds", a.OmitKinds)
	setList(r, "namespaces", a.Namespaces)
	setList(r, "omit_namespaces", a.OmitNamespaces)
	if a.OnlyNamespaced {
		r.SetAttributeValue("only_namespaced_resources", cty.True)
	}
	if len(a.Read)+len(a.Write) > 0 {
		r.AppendNewline()
		p := r.AppendNewBlock("permissions", nil).Body()
		setList(p, "read", a.Read)
		setList(p, "write", a.Write)
	}
	r.AppendNewline()
	switch mode {
	case "agent":
		// The old agent ran inside this cluster: the resource installs
		// spinops' agent there.
		i := r.AppendNewBlock("install_agent", nil).Body()
		i.SetAttributeValue("namespace", cty.StringVal("spinops-agent"))
		rep.Notes = append(rep.Notes, fmt.Sprintf("account %s: %s; "+
			"install_agent installs spinops' agent there through the provider's kubernetes connection (add a kubernetes block to install_agent "+
			"if that cluster is not the provider's), then remove %s", a.Name, a.inClusterNote, a.remove))
	default:
		c := r.AppendNewBlock("credential_secret", nil).Body()
		c.SetAttributeValue("namespace", cty.StringVal("spinops-agent"))
		where := "its kubeconfig"
		if a.Kubeconfig != "" {
			where = a.Kubeconfig
		}
		if a.Context != "" {
			where += " (context " + a.Context + ")"
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("account %s: %s %s; run spinops' agent in infrastructure mode with "+
			"the same kubeconfig and the credential the resource writes to Secret spinops-agent/spinops-agent-%s (see spinops_agent_account, mode infrastructure)",
			a.Name, a.reachedBy, where, a.Name))
	}
	r.AppendNewline()
	s := r.AppendNewBlock("spinnaker", nil).Body()
	nsExpr(s)
	body.AppendNewline()
}

// traversal is a reference such as var.x or spinops_zone.green.namespace.
func traversal(ref string) hcl.Traversal {
	parts := strings.Split(ref, ".")
	t := hcl.Traversal{hcl.TraverseRoot{Name: parts[0]}}
	for _, p := range parts[1:] {
		t = append(t, hcl.TraverseAttr{Name: p})
	}
	return t
}

func setList(b *hclwrite.Body, name string, v []string) {
	if len(v) == 0 {
		return
	}
	vals := make([]cty.Value, len(v))
	for i, s := range v {
		vals[i] = cty.StringVal(s)
	}
	b.SetAttributeValue(name, cty.ListVal(vals))
}
