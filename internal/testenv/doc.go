// Package testenv starts real local services for tests: a Kubernetes control
// plane (etcd + kube-apiserver, optionally kube-controller-manager) built from
// tools/k8s-testenv, MariaDB, moto (AWS) and fake-gcs-server (GCS). Every
// service runs as a child process of the test binary on a free loopback port,
// with its own temporary state directory, and is stopped by PID (SIGTERM, then
// SIGKILL) when the test or the test binary ends.
//
// Binaries are looked up in $SPINOPS_TESTENV_BIN, then <repo>/.testenv/bin
// (populated by `make testenv`, i.e. scripts/testenv.sh), then $PATH;
// mariadbd and mariadb-install-db also in /usr/sbin and /usr/bin. When one is
// missing, tests that need it are skipped — or fail, when
// SPINOPS_TESTENV=required (CI sets this so a broken environment cannot pass
// by skipping everything).
//
// Two ways to get a service:
//
//   - StartCluster, StartMariaDB, StartMoto, StartFakeGCS start a private
//     instance that is stopped by t.Cleanup;
//   - SharedCluster, SharedMariaDB, SharedMoto, SharedFakeGCS return one
//     instance per test binary, started on first use and stopped by Main.
//
// A package using the shared instances must call Main from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Tests sharing an instance isolate themselves with unique names:
// Cluster.Namespace, MariaDB.Database and FakeGCS.Bucket create one and
// delete it on cleanup. Do not call Stop (or Moto.Reset) on a shared instance
// other tests may be using.
//
// Every child process gets Pdeathsig=SIGKILL, so nothing outlives a test
// binary that crashes or times out (its temporary directories may then stay
// behind in $TMPDIR as spinops-*). Set SPINOPS_TESTENV_KEEP=1 to keep the
// state directories and logs of stopped services for debugging.
//
// The package imports nothing from Terraform; it is used by tests of every
// layer of the provider.
package testenv
