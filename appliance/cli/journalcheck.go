package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/linesight/linesight/appliance/config"
	"github.com/linesight/linesight/appliance/journal"
)

// errDamagedJournal makes `journal check` exit 1 once it has printed why.
var errDamagedJournal = errors.New("the journal is damaged")

// journalFile is the file a check or recover reads: --file, else the
// journal in the config's data_dir.
func journalFile(configPath, file string) (string, error) {
	if file != "" {
		return file, nil
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return "", err
	}
	return filepath.Join(cfg.DataDir, journal.FileName), nil
}

func journalCheck(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("journal check", stdio)
	cfgPath := fs.String("config", "", "appliance config file: check the journal in its data_dir")
	file := fs.String("file", "", "check this journal file instead (one set aside as damaged, a copy)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*cfgPath == "") == (*file == "") || fs.NArg() > 0 {
		fmt.Fprintln(stdio.Err, "Usage: linesight journal check (--config FILE | --file JOURNAL) [--json]")
		return errUsage
	}
	path, err := journalFile(*cfgPath, *file)
	if err != nil {
		return err
	}
	// Salvage reads the file page by page, without bbolt and without its
	// lock: it never crashes on damage and never writes.
	rep, err := journal.Salvage(path, nil)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdio.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printSalvage(stdio.Out, rep, "readable")
	}
	if !rep.Sound() {
		return fmt.Errorf("%w: `linesight journal recover --file %s --out FILE` copies out what is readable", errDamagedJournal, path)
	}
	return nil
}

func journalRecover(_ context.Context, args []string, stdio Stdio) error {
	fs := newFlags("journal recover", stdio)
	cfgPath := fs.String("config", "", "appliance config file: recover from the journal in its data_dir")
	file := fs.String("file", "", "recover from this journal file instead (one set aside as damaged)")
	out := fs.String("out", "", "write the readable records here, as JSON lines (the format of journal export)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*cfgPath == "") == (*file == "") || *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stdio.Err, "Usage: linesight journal recover (--config FILE | --file JOURNAL) --out FILE")
		return errUsage
	}
	path, err := journalFile(*cfgPath, *file)
	if err != nil {
		return err
	}
	var rep journal.SalvageReport
	err = writeOutput(*out, stdio.Out, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		var err error
		rep, err = journal.Salvage(path, func(r *journal.Record) error { return enc.Encode(r) })
		return err
	})
	if err != nil {
		return err
	}
	printSalvage(stdio.Out, rep, "saved to "+*out)
	return nil
}

// printSalvage prints a salvage report; saved says what became of the
// readable records.
func printSalvage(w io.Writer, rep journal.SalvageReport, saved string) {
	state := "sound"
	if !rep.Sound() {
		state = "DAMAGED"
	}
	fmt.Fprintf(w, "journal %s: %s\n", rep.Path, state)
	if rep.PageSize > 0 {
		fmt.Fprintf(w, "  %d bytes, pages of %d bytes; bbolt can open it: %s\n", rep.Size, rep.PageSize, yesNo(rep.Opens))
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	last := "unknown (its page is lost)"
	if rep.LastID > 0 {
		last = fmt.Sprint(rep.LastID)
	}
	fmt.Fprintf(w, "  records: %d %s, %d lost (garbled or in unreadable pages), %d garbled; last id %s\n",
		rep.Saved, saved, rep.Lost, rep.Undecodable, last)
	if rep.FromPages > 0 {
		fmt.Fprintf(w, "  %d of them were found in pages the damaged tree no longer reaches: some may be older versions, or records already expired\n", rep.FromPages)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
