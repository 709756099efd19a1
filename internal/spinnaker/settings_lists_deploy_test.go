package spinnaker_test

import (
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker/operatortest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestDeploy_serviceSettingsReachThePods: a pull secret and a CA
// volume the installation gives every service through the global
// service-settings, and a volume of the zone's for Clouddriver, reach the
// pods the operator stand-in deploys, which copies inspect.Merge
// (dropping a global list under a service's own map) and Halyard's pod spec.
// Before, the real operator would have dropped the global lists for
// Clouddriver (spinops' tokens volume gives it a kubernetes map) and for
// Orca (its own serviceAnnotations), and the tokens volume replaced
// Clouddriver's own volume, while the zone reported ready. Gate's and
// Deck's own ports are where their Services listen and where verification
// asks.
func TestDeploy_serviceSettingsReachThePods(t *testing.T) {
	t.Parallel() // (a cluster of its own; the tests wait on it, so they run at once)
	c := testenv.StartCluster(t, testenv.WithControllerManager())
	backends := operatortest.StartBackends(t)
	operatortest.StartKubelet(t, c.RESTConfig(), backends.IP)
	e := startOperatorEnv(t, c, backends, 0, &spinnaker.Installation{SpinnakerVersion: "1.35.3", Promotion: spinnaker.Promotion{Soak: spinnaker.Duration(time.Hour)},
		ServiceSettings: map[string]string{
			"spinnaker": "kubernetes:\n  imagePullSecrets: [mirror-pull]\n  volumes:\n  - {id: corp-ca, type: configMap, mountPath: /etc/corp-ca}\n",
			"orca":      "kubernetes:\n  serviceAnnotations: {team: pipelines}\n",
		}})
	ctx, client, op, inst := e.ctx, e.client, e.op, e.inst
	d := &spinnaker.Deployer{Control: client, Target: client, Now: time.Now, PollInterval: 200 * time.Millisecond}
	const ns = "spin-lists"
	z := &spinnaker.Zone{Name: "lists", Namespace: ns, Tier: spinnaker.TierSandbox, ServiceSettings: map[string]string{
		"clouddriver": "kubernetes:\n  volumes:\n  - {id: clouddriver-extra, mountPath: /opt/clouddriver/extra}\n",
		// Ports of their own: Halyard's Services listen there, and
		// verification (through the API server's service proxy) must ask
		// there; before, it asked 8084 and 9000 and failed.
		"gate": "port: 8085\n",
		"deck": "port: 9001\n",
	}}
	res, err := d.Deploy(ctx, inst, z, spinnaker.DeployOptions{Wait: true, Timeout: 2 * time.Minute, Verify: true,
		VerifyOptions: spinnaker.VerifyOptions{Attempts: 3, Interval: 300 * time.Millisecond}})
	if err != nil {
		t.Fatalf("deploy: %v (stand-in: %v)", err, op.LastError())
	}
	if !res.Verification.Passed() {
		t.Errorf("verification: %+v", res.Verification.Results)
	}
	operatortest.CheckServicePorts(ctx, t, client.Clientset, ns, map[string]int32{"spin-gate": 8085, "spin-deck": 9001, "spin-orca": 8083})
	operatortest.CheckPodSettings(ctx, t, client.Clientset, ns, map[string]string{
		"spin-clouddriver": "pull [mirror-pull] volumes [corp-ca=configMap:corp-ca clouddriver-extra=secret:clouddriver-extra " +
			spinnaker.AccountTokensSecret + "=secret:" + spinnaker.AccountTokensSecret + "] mounts [corp-ca@/etc/corp-ca " +
			"clouddriver-extra@/opt/clouddriver/extra " + spinnaker.AccountTokensSecret + "@" + spinnaker.AccountTokensDir + "]",
		"spin-orca":  "pull [mirror-pull] volumes [corp-ca=configMap:corp-ca] mounts [corp-ca@/etc/corp-ca]",
		"spin-gate":  "pull [mirror-pull] volumes [corp-ca=configMap:corp-ca] mounts [corp-ca@/etc/corp-ca]",
		"spin-deck":  "pull [] volumes [] mounts []",
		"spin-rosco": "pull [mirror-pull] volumes [corp-ca=configMap:corp-ca] mounts [corp-ca@/etc/corp-ca]",
	})
}
