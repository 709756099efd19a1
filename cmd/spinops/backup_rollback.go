package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// newBackupRollbackBucketCommand: `spinops backup rollback-bucket` puts a
// bucket target back to its contents before a restore that was stopped
// mid-way (see internal/backup/bucket_undo.go).
func newBackupRollbackBucketCommand(load loadFunc) *cobra.Command {
	var bucketTarget string
	cmd := &cobra.Command{
		Use:   "rollback-bucket",
		Short: "Put a bucket back as it was before a restore that was stopped mid-way",
		Long: "A bucket restore keeps an undo copy of the target's objects inside the target (.spinops-restore-undo/) until\n" +
			"it completes. When the restore process was stopped mid-way, the next restore into that target is refused;\n" +
			"this command puts the target back to its contents before that restore and removes the undo copy.\n" +
			"Without an undo journal it changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			cfg, dest, err := load()
			if err != nil {
				return err
			}
			sc := backup.StoreConfig{}
			if cfg.Bucket != nil {
				sc = *cfg.Bucket
			}
			if bucketTarget != "" {
				sc.URL = bucketTarget
			}
			if sc.URL == "" {
				return fmt.Errorf("no bucket: give --bucket-target (the restore's target) or configure a bucket source")
			}
			st, err := (backup.Clients{}).Open(ctx, sc)
			if err != nil {
				return err
			}
			eng := &backup.Engine{Dest: dest, Log: backupLogger()}
			rolled, err := eng.RollbackBucket(ctx, st)
			if err != nil {
				return fmt.Errorf("rolling back %s: %w", st, err)
			}
			msg := fmt.Sprintf("%s: no interrupted restore; nothing changed", st)
			if rolled {
				msg = fmt.Sprintf("%s: put back as it was before the interrupted restore", st)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
	cmd.Flags().StringVar(&bucketTarget, "bucket-target", "", "the interrupted restore's bucket target: s3://, gs:// or file:// (default: the configured bucket source)")
	return cmd
}
