// Command spinops is the runtime binary shipped in the spinops container
// image: the bridge, the agent, the backup engine and the monitor are its
// sub-commands.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/spinops/terraform-provider-spinops/internal/version"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "spinops:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "spinops",
		Short:         "The spinops runtime: bridge, agent, backup and monitor",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCommand())
	root.AddCommand(newBridgeCommand(), newAgentCommand())
	root.AddCommand(newBackupCommand())
	root.AddCommand(newMonitorCommand())
	root.AddCommand(newMigrateCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version.Version
			if version.Commit != "" {
				v += " (" + version.Commit + ")"
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "spinops", v)
			return err
		},
	}
}
