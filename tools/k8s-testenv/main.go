// Command k8s-testenv runs one real Kubernetes control plane for tests and the
// local demo: an in-process etcd, the real kube-apiserver and, optionally, the
// real kube-controller-manager (as a child process, because both commands
// install process-wide signal handlers).
//
//	k8s-testenv cluster --dir DIR [--controller-manager]
//
// writes DIR/kubeconfig (admin token), DIR/pki/* (CA, serving and client
// certificates) and, once /readyz answers, DIR/cluster.json. SIGTERM stops
// everything it started.
package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

// Info is what DIR/cluster.json holds; internal/testenv reads it.
type Info struct {
	Host           string  `json:"host"`
	Port           int     `json:"port"`
	Kubeconfig     string  `json:"kubeconfig"`
	AdminToken     string  `json:"admin_token"`
	NobodyToken    string  `json:"nobody_token"`
	CACert         string  `json:"ca_cert"`
	ClientCert     string  `json:"client_cert"`
	ClientKey      string  `json:"client_key"`
	ControllerMgr  bool    `json:"controller_manager"`
	PID            int     `json:"pid"`
	KubeVersion    string  `json:"kube_version"`
	StartedSeconds float64 `json:"started_seconds"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8s-testenv cluster --dir DIR [--controller-manager] | controller-manager FLAGS...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "cluster":
		if err := runCluster(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "k8s-testenv:", err)
			os.Exit(1)
		}
	case "controller-manager":
		cmd := controllermanager.NewControllerManagerCommand()
		cmd.SetArgs(os.Args[2:])
		if err := cmd.Execute(); err != nil {
			os.Exit(1)
		}
	case "version":
		fmt.Println(kubeVersion)
	default:
		fmt.Fprintf(os.Stderr, "k8s-testenv: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

const kubeVersion = "v1.37.2"

func runCluster(args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	dir := fs.String("dir", "", "state directory (created)")
	withCM := fs.Bool("controller-manager", false, "also run kube-controller-manager")
	port := fs.Int("port", 0, "secure port (0 picks a free one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	start := time.Now()
	d, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	pki := filepath.Join(d, "pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		return err
	}
	if *port == 0 {
		if *port, err = freePort(); err != nil {
			return err
		}
	}
	p, err := writePKI(pki)
	if err != nil {
		return fmt.Errorf("writing certificates: %w", err)
	}
	adminToken, nobodyToken := randHex(16), randHex(16)
	tokens := filepath.Join(pki, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(fmt.Sprintf(
		"%s,admin,admin-uid,system:masters\n%s,nobody,nobody-uid\n", adminToken, nobodyToken)), 0o600); err != nil {
		return err
	}

	etcd, etcdURL, err := startEtcd(filepath.Join(d, "etcd"))
	if err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	defer etcd.Close()

	host := "https://127.0.0.1:" + strconv.Itoa(*port)
	kubeconfig := filepath.Join(d, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, host, p.caFile, adminToken); err != nil {
		return err
	}

	cmd := apiserver.NewAPIServerCommand()
	cmd.SetArgs([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(*port),
		"--cert-dir=" + pki,
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caFile,
		"--token-auth-file=" + tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.saKey,
		"--service-account-signing-key-file=" + p.saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--storage-media-type=application/json",
		"-v=0",
	})
	apiDone := make(chan error, 1)
	go func() { apiDone <- cmd.Execute() }()

	if err := waitReady(host, adminToken, p.caFile, apiDone); err != nil {
		return err
	}

	var cm *exec.Cmd
	if *withCM {
		self, _ := os.Executable()
		// No node controllers: the test cluster has no nodes. (The cloud
		// controllers left kube-controller-manager in v1.37 and naming
		// them is an error there.)
		cm = exec.Command(self, "controller-manager",
			"--kubeconfig="+kubeconfig,
			"--leader-elect=false",
			"--secure-port=0",
			"--controllers=*,-node-ipam-controller,-node-lifecycle-controller,-persistentvolume-attach-detach-controller",
			"--service-account-private-key-file="+p.saKey,
			"--root-ca-file="+p.caFile,
			"--service-cluster-ip-range=10.0.0.0/24",
			"--use-service-account-credentials=false",
			"-v=0",
		)
		logf, err := os.Create(filepath.Join(d, "controller-manager.log"))
		if err != nil {
			return err
		}
		cm.Stdout, cm.Stderr = logf, logf
		cm.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cm.Start(); err != nil {
			return fmt.Errorf("starting kube-controller-manager: %w", err)
		}
		defer func() {
			if cm != nil {
				_ = cm.Process.Kill()
			}
		}()
	}

	info := Info{
		Host: host, Port: *port, Kubeconfig: kubeconfig,
		AdminToken: adminToken, NobodyToken: nobodyToken,
		CACert: p.caFile, ClientCert: p.clientCert, ClientKey: p.clientKey,
		ControllerMgr: *withCM, PID: os.Getpid(), KubeVersion: kubeVersion,
		StartedSeconds: time.Since(start).Seconds(),
	}
	b, _ := json.MarshalIndent(info, "", "  ")
	tmp := filepath.Join(d, "cluster.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(d, "cluster.json")); err != nil {
		return err
	}
	fmt.Printf("k8s-testenv: %s ready in %.1fs (kubeconfig %s)\n", host, info.StartedSeconds, kubeconfig)

	// kube-apiserver owns SIGTERM/SIGINT (SetupSignalContext); when it
	// returns, shut the rest down. A controller-manager that dies is reported.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	var cmDone chan error
	if cm != nil {
		cmDone = make(chan error, 1)
		go func() { cmDone <- cm.Wait() }()
	}
	select {
	case err := <-apiDone:
		return err
	case err := <-cmDone:
		cm = nil
		return fmt.Errorf("kube-controller-manager exited: %v", err)
	case <-sig:
		// Stop the controller-manager first: its open watches would hold
		// kube-apiserver's graceful shutdown. Then give the API server a
		// moment; test clusters hold nothing worth a longer wait.
		if cm != nil {
			_ = cm.Process.Signal(syscall.SIGTERM)
			select {
			case <-cmDone:
			case <-time.After(2 * time.Second):
				_ = cm.Process.Kill()
			}
			cm = nil
		}
		select {
		case <-apiDone:
		case <-time.After(3 * time.Second):
		}
		return nil
	}
}

func startEtcd(dir string) (*embed.Etcd, string, error) {
	cp, err := freePort()
	if err != nil {
		return nil, "", err
	}
	pp, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.UnsafeNoFsync = true
	cfg.LogLevel = "error"
	cfg.Logger = "zap"
	cu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(cp))
	pu, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(pp))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, "", errors.New("etcd not ready after 30s")
	}
	return e, cu.String(), nil
}

func waitReady(host, token, caFile string, apiDone <-chan error) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-apiDone:
			return fmt.Errorf("kube-apiserver exited before it was ready: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver at %s not ready after 90s", host)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type pkiFiles struct {
	caFile, servingCert, servingKey, clientCert, clientKey, saKey string
}

func writePKI(dir string) (pkiFiles, error) {
	p := pkiFiles{
		caFile: filepath.Join(dir, "ca.crt"), servingCert: filepath.Join(dir, "serving.crt"),
		servingKey: filepath.Join(dir, "serving.key"), clientCert: filepath.Join(dir, "admin.crt"),
		clientKey: filepath.Join(dir, "admin.key"), saKey: filepath.Join(dir, "sa.key"),
	}
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return p, err
	}
	now := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "spinops-testenv-ca"},
		NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return p, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	if err := writePEM(p.caFile, "CERTIFICATE", caDER); err != nil {
		return p, err
	}
	issue := func(serial int64, subj pkix.Name, usage x509.ExtKeyUsage, certFile, keyFile string, ips []net.IP, dns []string) error {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return err
		}
		t := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: subj, NotBefore: now, NotAfter: now.Add(10 * 365 * 24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, t, caCert, &k.PublicKey, caKey)
		if err != nil {
			return err
		}
		if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(keyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
	}
	if err := issue(2, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth, p.servingCert, p.servingKey,
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}, []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}); err != nil {
		return p, err
	}
	if err := issue(3, pkix.Name{CommonName: "admin", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth, p.clientCert, p.clientKey, nil, nil); err != nil {
		return p, err
	}
	sa, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return p, err
	}
	return p, writePEM(p.saKey, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(sa))
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}

func writeKubeconfig(path, host, caFile, token string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	cfg := map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "testenv",
		"clusters": []any{map[string]any{"name": "testenv", "cluster": map[string]any{
			"server": host, "certificate-authority-data": ca}}},
		"users": []any{map[string]any{"name": "admin", "user": map[string]any{"token": token}}},
		"contexts": []any{map[string]any{"name": "testenv", "context": map[string]any{
			"cluster": "testenv", "user": "admin"}}},
	}
	// JSON is valid YAML; []byte fields marshal as base64 as kubeconfig expects.
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
