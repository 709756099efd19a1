package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/cloud/gcs"
)

// EnvMySQLPassword is the environment variable the MySQL password is read
// from: the Kubernetes Secret of a spinops_backup_policy sets it, so the
// password is never in the configuration file.
const EnvMySQLPassword = "SPINOPS_BACKUP_MYSQL_PASSWORD"

// Config is the configuration file of `spinops backup` (the ConfigMap of a
// spinops_backup_policy). It holds no secrets.
type Config struct {
	Destination StoreConfig  `json:"destination"`
	MySQL       *MySQLConfig `json:"mysql,omitempty"`
	Bucket      *StoreConfig `json:"bucket,omitempty"`
	Retention   Retention    `json:"retention"`
	PointInTime bool         `json:"point_in_time,omitempty"`
}

// StoreConfig locates a bucket and prefix: URL is s3://bucket/prefix,
// gs://bucket/prefix or file:///dir. Endpoint and PathStyle reach
// S3-compatible servers (MinIO) and emulators.
type StoreConfig struct {
	URL       string `json:"url"`
	Endpoint  string `json:"endpoint,omitempty"`
	Region    string `json:"region,omitempty"`
	PathStyle bool   `json:"path_style,omitempty"`
}

// MySQLConfig is a MySQL-compatible server and the databases to back up.
// Password is never read from or written to the file.
type MySQLConfig struct {
	Host      string   `json:"host"`
	Port      int      `json:"port,omitempty"`
	User      string   `json:"user"`
	Password  string   `json:"-"`
	Databases []string `json:"databases"`
	// TLS is required, verify_ca or verify_full (empty: no TLS); CAFile a
	// PEM file (in the cluster: mounted from a Secret).
	TLS    string `json:"tls,omitempty"`
	CAFile string `json:"ca_file,omitempty"`
}

// Server is how to reach the configured server.
func (c *MySQLConfig) Server() *MySQLServer {
	if c == nil {
		return nil
	}
	return &MySQLServer{Host: c.Host, Port: c.Port, User: c.User, Password: c.Password, TLS: c.TLS, CAFile: c.CAFile}
}

// LoadConfig reads a configuration file and takes the MySQL password from
// the environment (EnvMySQLPassword).
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading backup configuration: %w", err)
	}
	var c Config
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parsing backup configuration %s: %w", path, err)
	}
	if c.MySQL != nil {
		c.MySQL.Password = os.Getenv(EnvMySQLPassword)
	}
	return &c, c.Validate()
}

// Validate checks the configuration without contacting anything.
func (c *Config) Validate() error {
	if c.Destination.URL == "" {
		return fmt.Errorf("destination.url is required")
	}
	if _, err := parseStoreURL(c.Destination.URL); err != nil {
		return fmt.Errorf("destination.url: %w", err)
	}
	if c.Bucket != nil {
		if _, err := parseStoreURL(c.Bucket.URL); err != nil {
			return fmt.Errorf("bucket.url: %w", err)
		}
	}
	if c.MySQL != nil {
		if c.MySQL.Host == "" || c.MySQL.User == "" {
			return fmt.Errorf("mysql.host and mysql.user are required")
		}
		if len(c.MySQL.Databases) == 0 {
			return fmt.Errorf("mysql.databases must list at least one database")
		}
		if t := c.MySQL.TLS; t != "" && t != TLSRequired && t != TLSVerifyCA && t != TLSVerifyFull {
			return fmt.Errorf("mysql.tls %q: use required, verify_ca or verify_full", t)
		}
		if c.MySQL.CAFile != "" && c.MySQL.TLS == "" {
			return fmt.Errorf("mysql.ca_file is set but mysql.tls is not: set tls = verify_ca or verify_full")
		}
	}
	if c.MySQL == nil && c.Bucket == nil {
		return fmt.Errorf("nothing to back up: set mysql, bucket or both")
	}
	if c.PointInTime && c.MySQL == nil {
		return fmt.Errorf("point_in_time needs a mysql source")
	}
	if c.Retention.Count < 0 || c.Retention.Days < 0 {
		return fmt.Errorf("retention.count and retention.days must not be negative")
	}
	return nil
}

func parseStoreURL(u string) (Location, error) {
	if strings.HasPrefix(u, "file://") {
		p := strings.TrimPrefix(u, "file://")
		if p == "" || !strings.HasPrefix(p, "/") {
			return Location{}, fmt.Errorf("%q: a file:// location needs an absolute path", u)
		}
		return Location{Scheme: "file", Prefix: p}, nil
	}
	return ParseLocation(u)
}

// Clients says how to reach the clouds when opening a Store. Zero values use
// the SDKs' default credential chains and the environment (AWS_*,
// STORAGE_EMULATOR_HOST, GOOGLE_APPLICATION_CREDENTIALS).
type Clients struct {
	// AWSConfig returns the AWS SDK configuration; nil loads the default chain.
	AWSConfig    func(context.Context) (aws.Config, error)
	AWSEndpoints awscloud.Endpoints
	GCS          gcs.StorageSettings
}

// Open returns the Store a StoreConfig names.
func (c Clients) Open(ctx context.Context, sc StoreConfig) (Store, error) {
	loc, err := parseStoreURL(sc.URL)
	if err != nil {
		return nil, err
	}
	switch loc.Scheme {
	case "file":
		return NewFileStore(loc.Prefix), nil
	case "s3":
		var cfg aws.Config
		if c.AWSConfig != nil {
			cfg, err = c.AWSConfig(ctx)
		} else {
			cfg, err = awscloud.LoadConfig(ctx, awscloud.Settings{Region: sc.Region})
		}
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", sc.URL, err)
		}
		client := awscloud.NewS3Client(cfg, c.AWSEndpoints, awscloud.S3Options{Endpoint: sc.Endpoint, Region: sc.Region, PathStyle: sc.PathStyle})
		return NewS3Store(client, loc), nil
	default:
		gs := c.GCS
		if sc.Endpoint != "" {
			gs.Endpoint = sc.Endpoint
		}
		client, err := gcs.NewStorageClient(ctx, gs)
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", sc.URL, err)
		}
		return NewGCSStore(client, loc), nil
	}
}
