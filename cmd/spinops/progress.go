package main

// This file: `spinops migrate data`'s progress bars on a terminal.

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/spinops/terraform-provider-spinops/internal/migrate"
)

// Values of --progress.
const (
	progressAuto = "auto"
	progressBar  = "bar"
	progressLog  = "log"
)

// progressFor is the Progress --progress asks for on w: bars (always, or
// with auto when w is a terminal), or nil for progress lines in the log.
func progressFor(mode string, w io.Writer) (migrate.Progress, error) {
	switch mode {
	case progressBar:
		return &terminalProgress{w: w}, nil
	case progressLog:
		return nil, nil
	case progressAuto, "":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return &terminalProgress{w: w}, nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("--progress %q: use %s (bars on a terminal, log lines otherwise), %s or %s", mode, progressAuto, progressBar, progressLog)
}

// terminalProgress draws one bar per step (schollz/progressbar): bytes
// done of the total, rate and time left; a spinner with the bytes when the
// total is not known.
type terminalProgress struct{ w io.Writer }

func (p *terminalProgress) Step(description string, total int64) migrate.ProgressBar {
	max := total
	if max <= 0 {
		max = -1
	}
	return &terminalBar{w: p.w, bar: progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
	)}
}

type terminalBar struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (b *terminalBar) Set(done int64) { _ = b.bar.Set64(done) }

// Done leaves the bar as it stands (100 % when the step finished) and ends
// its line.
func (b *terminalBar) Done() {
	_ = b.bar.RenderBlank()
	_ = b.bar.Exit()
	_, _ = fmt.Fprintln(b.w)
}
