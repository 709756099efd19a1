package provider

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/migrate"
	"github.com/spinops/terraform-provider-spinops/internal/migrate/migratetest"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
	"github.com/spinops/terraform-provider-spinops/internal/testenv/podstandin"
)

// TestAccMigrateLegacyInstallation is a migration from end to end, as a
// platform team runs it with the `spinops` binary and Terraform:
//
//   - the legacy installation: a Halyard config written here (the
//     ~/.hal/config layout, with a profile and service settings), its
//     Spinnaker running in a namespace of its own cluster (Gate, Orca and
//     Front50, with Orca's and Front50's APIs stood in for:
//     internal/migrate/migratetest), its SQL databases on a MariaDB server
//     and Front50's bucket in moto's S3, with Spinnaker-shaped data;
//   - `spinops migrate plan --halconfig` → applied with terraform (the new
//     zone run by the operator stand-in on another cluster), a second plan
//     empty;
//   - `spinops migrate data` twice, the second incremental (timed);
//   - `spinops migrate cutover --freeze` on a moto Route 53 zone: the old
//     installation frozen, a final `migrate data --verify`, then the new
//     zone verified as an upgrade is (--verify-zone) and the name switched;
//     the frozen window printed; every phase in the ledger; a rollback
//     points the name back and unfreezes the old installation.
func TestAccMigrateLegacyInstallation(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	if realOperator() {
		t.Skip("the legacy installation's stand-ins need the local API server, not " + envRealKubeconfig + "'s cluster")
	}
	bin := podstandin.SpinopsBinary(t)
	zc := startZoneAccCluster(t, accOpNamespace)
	oldCluster := testenv.SharedCluster(t)
	old := migratetest.StartOldInstallation(t, oldCluster)
	old.Queue.AddApplication("shop", "deploy-cfg")
	moto := testenv.SharedMoto(t)
	moto.SetEnv(t)
	oldDB, newDB := testenv.StartMariaDB(t), testenv.StartMariaDB(t)
	t.Setenv("SPINOPS_MIGRATE_FROM_MYSQL_PASSWORD", oldDB.RootPassword)
	t.Setenv("SPINOPS_MIGRATE_TO_MYSQL_PASSWORD", newDB.RootPassword)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()

	// The legacy data: Orca's and Clouddriver's databases, Front50's bucket.
	od, err := sql.Open("mysql", oldDB.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer od.Close()
	oldSQL := func(q string) {
		t.Helper()
		if _, err := od.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, q := range []string{
		"CREATE DATABASE orca", "CREATE DATABASE clouddriver",
		"CREATE TABLE orca.pipelines (id VARCHAR(64) PRIMARY KEY, application VARCHAR(255), body LONGTEXT, status VARCHAR(45), INDEX app (application))",
		`INSERT INTO orca.pipelines VALUES ('01EXEC0001', 'shop', '{"stages":[{"type":"deploy"}]}', 'SUCCEEDED'), ('01EXEC0002', 'shop', '{"stages":[]}', 'TERMINAL')`,
		"CREATE TABLE clouddriver.cats_v1_serverGroups (id VARCHAR(255) PRIMARY KEY, agent VARCHAR(127), body_hash VARCHAR(64), body LONGTEXT)",
		`INSERT INTO clouddriver.cats_v1_serverGroups VALUES ('kubernetes:serverGroups:prod:shop:replicaSet shop-v001', 'KubernetesCoreCachingAgent', 'h1', '{"replicas":3}')`,
	} {
		oldSQL(q)
	}
	s3c, oldBucket := backupBucket(t, moto)
	_, newBucket := backupBucket(t, moto)
	put := func(bucket, key, body string) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	put(oldBucket, "front50/applications/shop/specification.json", `{"name":"shop","email":"team@example.com"}`)
	put(oldBucket, "front50/pipelines/deploy-cfg/pipeline-metadata.json", `{"id":"deploy-cfg","application":"shop","name":"Deploy"}`)

	// The legacy installation's Halyard config, as `hal` writes it.
	hal := t.TempDir()
	for p, body := range map[string]string{
		"config": fmt.Sprintf(`halyardVersion: 1.45.0
currentDeployment: default
deploymentConfigurations:
- name: default
  version: 1.35.3
  persistentStorage:
    persistentStoreType: s3
    s3:
      bucket: %s
      rootFolder: front50
      region: %s
  features:
    artifacts: true
  deploymentEnvironment:
    size: SMALL
    type: Distributed
    accountName: spinnaker
    location: spinnaker
`, oldBucket, testenv.MotoRegion),
		"default/profiles/orca-local.yml":        "tasks:\n  executionWindow:\n    timezone: Europe/Berlin\n",
		"default/service-settings/deck.yml":      "env:\n  API_HOST: https://gate.acme.example\n",
		"default/service-settings/gate.yml":      "healthEndpoint: /health\n",
		"default/profiles/clouddriver-local.yml": "kubernetes:\n  cache:\n    cacheAllApplicationRelationships: true\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(hal, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(hal, p), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	spinops := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("spinops %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}

	// migrate plan → the Terraform the team applies.
	tf := filepath.Join(t.TempDir(), "spinnaker.tf")
	report := spinops("migrate", "plan", "--halconfig", hal, "--namespace", accGreenNS, "--out", tf)
	t.Logf("migrate plan's report:\n%s", report)
	gen, err := os.ReadFile(tf)
	if err != nil {
		t.Fatal(err)
	}
	cfg := migratedConfig(zc, gen)

	migrateData := func(extra ...string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		out := spinops(append([]string{"migrate", "data", "--progress", "log",
			"--from-bucket", "s3://" + oldBucket + "/front50", "--from-endpoint", moto.Endpoint, "--from-path-style",
			"--to-bucket", "s3://" + newBucket + "/front50", "--to-endpoint", moto.Endpoint, "--to-path-style",
			"--from-mysql", oldDB.Addr(), "--from-mysql-user", oldDB.RootUser, "--to-mysql", newDB.Addr(), "--to-mysql-user", newDB.RootUser,
			"--databases", "orca,clouddriver", "--kubeconfig", zc.kubeconfig, "--ledger-namespace", accOpNamespace}, extra...)...)
		return out, time.Since(start)
	}
	r53, err := func() (*migrate.Route53, error) {
		awsCfg, err := awscloud.LoadConfig(ctx, awscloud.Settings{})
		if err != nil {
			return nil, err
		}
		r := &migrate.Route53{Client: route53.NewFromConfig(awsCfg)}
		hz, err := r.Client.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("acme.example"), CallerReference: aws.String(testenv.UniqueName("legacy-", 6))})
		if err != nil {
			return nil, err
		}
		r.ZoneID = strings.TrimPrefix(aws.ToString(hz.HostedZone.Id), "/hostedzone/")
		return r, r.Replace(ctx, nil, []migrate.DNSRecord{{Name: "spinnaker.acme.example", Target: "old-lb.acme.example", TTL: 60}})
	}()
	if err != nil {
		t.Fatal(err)
	}
	dnsTarget := func() string {
		t.Helper()
		recs, err := r53.Records(ctx, "spinnaker.acme.example")
		if err != nil || len(recs) != 1 {
			t.Fatalf("records of spinnaker.acme.example: %v, %v", recs, err)
		}
		return recs[0].Target
	}
	cutover := []string{"migrate", "cutover", "--route53-zone-id", r53.ZoneID, "--name", "spinnaker.acme.example", "--target", "new-lb.acme.example",
		"--verify-zone", accGreenNS + "/green", "--verify-attempts", "2", "--kubeconfig", zc.kubeconfig, "--ledger-namespace", accOpNamespace,
		"--freeze", "--old-namespace", old.Namespace, "--old-kubeconfig", oldCluster.Kubeconfig, "--drain-timeout", "1m"}

	migration := func() {
		// Two copies while both run: the second only what changed.
		out, first := migrateData()
		if !strings.Contains(out, "2 objects: 2 copied") || !strings.Contains(out, "copied whole and verified") {
			t.Fatalf("the first copy:\n%s", out)
		}
		put(oldBucket, "front50/pipelines/rollback-cfg/pipeline-metadata.json", `{"id":"rollback-cfg","application":"shop","name":"Rollback"}`)
		oldSQL(`INSERT INTO orca.pipelines VALUES ('01EXEC0003', 'shop', '{"stages":[]}', 'SUCCEEDED')`)
		out, second := migrateData()
		if !strings.Contains(out, "1 copied") || !strings.Contains(out, "2 unchanged") || !strings.Contains(out, "copied incrementally") || strings.Contains(out, " 0 transactions") {
			t.Fatalf("the second copy:\n%s", out)
		}
		t.Logf("migrate data: first copy %s, second (incremental) %s", first.Round(time.Millisecond), second.Round(time.Millisecond))

		// The scheduled cutover: freeze, the final copy, verify and switch.
		out = spinops(cutover...)
		if !strings.Contains(out, "frozen") || dnsTarget() != "old-lb.acme.example" || old.GateReplicas(t) != 0 {
			t.Fatalf("the freezing run: DNS %s, Gate %d\n%s", dnsTarget(), old.GateReplicas(t), out)
		}
		oldSQL(`INSERT INTO orca.pipelines VALUES ('01EXEC0004', 'shop', '{"stages":[]}', 'SUCCEEDED')`) // in flight before the freeze
		if out, _ := migrateData("--verify"); !strings.Contains(out, "every copied table matches the old server there") {
			t.Fatalf("the final copy:\n%s", out)
		}
		out = spinops(cutover...)
		if dnsTarget() != "new-lb.acme.example" {
			t.Fatalf("after the switching run: DNS %s\n%s", dnsTarget(), out)
		}
		window := regexp.MustCompile(`frozen window: (\S+)`).FindStringSubmatch(out)
		if window == nil {
			t.Fatalf("the frozen window is not printed:\n%s", out)
		}
		if d, err := time.ParseDuration(window[1]); err != nil || d <= 0 {
			t.Errorf("frozen window %q: %v", window[1], err)
		}
		t.Logf("the switching run:\n%s", out)
		var rec migrate.MigrationRecord
		if err := spinnaker.ReadLedgerKey(ctx, zc.cs, accOpNamespace, "migration", &rec); err != nil {
			t.Fatal(err)
		}
		var phases []string
		for _, p := range rec.Phases {
			phases = append(phases, p.Phase)
		}
		if got, want := strings.Join(phases, " "), "sync synced sync synced freeze frozen final-sync synced freeze-checked verify verified switch done"; got != want {
			t.Errorf("the ledger's phases:\n%s\nwant\n%s", got, want)
		}
		var n int
		nd, err := sql.Open("mysql", newDB.DSN("orca"))
		if err != nil {
			t.Fatal(err)
		}
		defer nd.Close()
		if err := nd.QueryRowContext(ctx, "SELECT COUNT(*) FROM pipelines").Scan(&n); err != nil || n != 4 {
			t.Errorf("the new orca.pipelines: %d rows, %v; want 4", n, err)
		}

		// Rollback: the name back, the old installation unfrozen.
		spinops("migrate", "cutover", "--route53-zone-id", r53.ZoneID, "--kubeconfig", zc.kubeconfig, "--ledger-namespace", accOpNamespace,
			"--old-kubeconfig", oldCluster.Kubeconfig, "--rollback")
		if dnsTarget() != "old-lb.acme.example" || old.GateReplicas(t) != 2 || strings.Contains(fmt.Sprint(old.InService()), "false") {
			t.Errorf("after the rollback: DNS %s, Gate %d, Orca in service %v", dnsTarget(), old.GateReplicas(t), old.InService())
		}
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: cfg,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("status"), knownvalue.StringExact("OK")),
				statecheck.ExpectKnownValue("spinops_zone.green", tfjsonpath.New("deployed_version"), knownvalue.StringExact("1.35.3")),
			},
		}, {
			Config:           cfg,
			ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check:            func(*terraform.State) error { migration(); return nil },
		}, {
			Config: strings.Replace(cfg, `resource "spinops_zone" "green" {`, `resource "spinops_zone" "green" {
  deletion_protection = false`, 1),
		}},
	})
}
