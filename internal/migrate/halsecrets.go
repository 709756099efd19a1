package migrate

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Which Halyard settings hold secrets or name local files, from Halyard's own
// configuration model: the fields annotated @Secret (values Halyard
// decrypts) and @LocalFile (paths on the Halyard machine whose files it
// copies into the deployment) in spinnaker/halyard's halyard-config
// (com/netflix/spinnaker/halyard/config/model/v1/**, read at commit
// 23e66d69). Profiles are free-form Spring configuration, so every key is
// also matched by name (secretSuffixes) and every string by shape (a URL
// with a password, a password query parameter): a value that only looks
// like a secret is moved out too, never the other way round.
var (
	halSecretFields = setOf(
		"accessToken", "apiKey", "appKey", "applicationKey", "awsSecretAccessKey", "awsSecretKey", "clientSecret",
		"gitHttpsPassword", "githubOAuthAccessToken", "githubToken", "insertKey", "keyStorePassword", "managerPassword",
		"password", "privateKeyPassphrase", "secretAccessKey", "secretKey", "serviceAccountSecret", "sshPrivateKeyPassphrase",
		"sslCertificatePassphrase", "storageAccountKey", "token", "trustStorePassword",
		// Not annotated, but a kubeconfig's credentials inline.
		"kubeconfigContents",
	)
	halFileFields = setOf(
		"caCertFile", "credentialPath", "credentialsPath", "dockerconfigFile", "jsonKey", "jsonPath", "keyStore",
		"kubeconfigFile", "metadataLocal", "oAuthServiceAccount", "passwordFile", "serviceKeyFile", "sshKnownHostsFilePath",
		"sshPrivateKeyFilePath", "sslCACertificateFile", "sslCertificateFile", "sslCertificateKeyFile", "templatePath",
		"tokenFile", "trustStore", "userDataFile", "usernamePasswordFile",
	)
	// Key endings that mark a secret anywhere (profiles), lower-cased and
	// without - and _ (api_key, api-key and apiKey alike).
	secretSuffixes = []string{"password", "passwd", "pwd", "secret", "token", "apikey", "appkey", "applicationkey",
		"insertkey", "privatekey", "passphrase", "secretkey", "secretaccesskey", "accountkey", "credentials",
		"kubeconfigcontents"}
	passwordParamRE = regexp.MustCompile(`(?i)[?&;](password|passwd|pwd|token|secret)=`)
	secretKeyCharRE = regexp.MustCompile(`[^-._a-zA-Z0-9]+`)
	// A secret in JavaScript (Deck's settings-local.js) looks like this.
	jsSecretRE = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|private_?key)["']?\s*[:=]`)
)

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, k := range s {
		m[strings.ToLower(k)] = true
	}
	return m
}

// isSecretKey says whether a key names a secret value.
func isSecretKey(key string) bool {
	if halSecretFields[strings.ToLower(key)] {
		return true
	}
	k := strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(key))
	for _, s := range secretSuffixes {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// isReference says whether a value points at a secret instead of holding
// one: Halyard's and the operator's secret engines (encrypted:,
// encryptedFile:) and Spring placeholders.
func isReference(s string) bool {
	return strings.HasPrefix(s, "encrypted:") || strings.HasPrefix(s, "encryptedFile:") ||
		(strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") && !strings.Contains(s, ":"))
}

// looksSecret says whether a string value carries a credential whatever its
// key: a URL with a password (redis://:pw@host, jdbc:mysql://u:pw@host) or
// a password query parameter.
func looksSecret(s string) bool {
	if passwordParamRE.MatchString(s) {
		return true
	}
	u, err := url.Parse(strings.TrimPrefix(s, "jdbc:"))
	if err != nil || u.User == nil {
		return false
	}
	_, has := u.User.Password()
	return has
}

// secretKeeper moves secret values and local files out of what is written:
// each becomes a reference to a key of one Kubernetes Secret (the
// operator's encrypted:k8s / encryptedFile:k8s engine), and the report
// says where each key's value comes from. Values are never kept.
type secretKeeper struct {
	secret string
	keys   map[string]string // key → where its value comes from
	files  map[string]string // key → the local file it holds
	used   map[string]bool
}

func newSecretKeeper(secret string) *secretKeeper {
	return &secretKeeper{secret: secret, keys: map[string]string{}, files: map[string]string{}, used: map[string]bool{}}
}

func (k *secretKeeper) keyFor(path string) string {
	path = strings.NewReplacer("[", ".", "]", "").Replace(path)
	key := strings.Trim(secretKeyCharRE.ReplaceAllString(strings.ToLower(path), "-"), "-.")
	if len(key) > 200 {
		key = key[:200]
	}
	base := key
	for i := 2; k.used[key]; i++ {
		key = fmt.Sprintf("%s-%d", base, i)
	}
	k.used[key] = true
	return key
}

// value replaces a secret value found at path.
func (k *secretKeeper) value(path string) string {
	key := k.keyFor(path)
	k.keys[key] = path
	return "encrypted:k8s!n:" + k.secret + "!k:" + key
}

// file replaces a local file path found at path.
func (k *secretKeeper) file(path, local string) string {
	key := k.keyFor(path)
	k.files[key] = local
	return "encryptedFile:k8s!n:" + k.secret + "!k:" + key
}

func (k *secretKeeper) empty() bool { return len(k.keys)+len(k.files) == 0 }

// scrub walks v (parsed YAML) and returns a copy without secrets or local
// file paths. path names v for keys and the report ("security.authn...").
// halyard: v is Halyard configuration, whose file fields are known.
func (k *secretKeeper) scrub(v any, path string, halyard bool) any {
	return k.walk(v, path, false, halyard)
}

func (k *secretKeeper) walk(v any, path string, secret, halyard bool) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for _, key := range sortedKeys(t) {
			child := t[key]
			p := joinPath(path, key)
			if s, ok := child.(string); ok && halyard && halFileFields[strings.ToLower(key)] && s != "" && !isReference(s) {
				out[key] = k.file(p, s)
				continue
			}
			out[key] = k.walk(child, p, secret || isSecretKey(key), halyard)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = k.walk(e, path+"["+elemName(e, i)+"]", secret, halyard)
		}
		return out
	case string:
		if isReference(t) || t == "" {
			return t
		}
		if secret || looksSecret(t) {
			return k.value(path)
		}
		return t
	case nil:
		return nil
	default: // numbers, booleans: a secret when their key says so
		if secret {
			return k.value(path)
		}
		return t
	}
}

// elemName names a list element in paths: its name when it has one
// (accounts, masters), else its index.
func elemName(e any, i int) string {
	if m, ok := e.(map[string]any); ok {
		if n, ok := m["name"].(string); ok && n != "" {
			return n
		}
	}
	return fmt.Sprint(i)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
