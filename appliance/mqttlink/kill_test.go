package mqttlink

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linesight/linesight/defects"
	"github.com/linesight/linesight/internal/testenv"
	"github.com/linesight/linesight/pipeline/inspect"
)

const killChildEnv = "LINESIGHT_MQTT_KILL_CHILD"

// TestKilledApplianceChild is the appliance of TestOutboxSurvivesKill: it
// journals verdicts without pause while its link tries a broker that is
// down, and prints the last committed id after each flush, until killed.
func TestKilledApplianceChild(t *testing.T) {
	dir, broker := os.Getenv(killChildEnv), os.Getenv(killChildEnv+"_BROKER")
	if dir == "" {
		t.Skip("run by TestOutboxSurvivesKill")
	}
	j := openJournal(t, dir)
	runLink(t, testOptions(broker), journalOutbox{j}, newFakeApp())
	go func() {
		var last uint64
		for {
			if id := j.Stats().LastID; id != last {
				fmt.Printf("flushed %d\n", id)
				last = id
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for seq := uint64(1); ; seq++ {
		if err := j.Write(context.Background(), &inspect.Result{Verdict: verdict("cam0", seq, defects.Fail)}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// The appliance is killed (SIGKILL) with verdicts in its outbox while the
// broker is down; restarted, with the broker back, it publishes every verdict
// it had committed, once and in order.
func TestOutboxSurvivesKill(t *testing.T) {
	b := startBroker(t, nil)
	b.Stop(syscall.SIGTERM)
	dir := t.TempDir()

	cmd := exec.Command(os.Args[0], "-test.run", "^TestKilledApplianceChild$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir, killChildEnv+"_BROKER="+b.URL())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var flushed uint64
	lines := bufio.NewScanner(out)
	for flushed < 300 && lines.Scan() {
		if id, ok := strings.CutPrefix(lines.Text(), "flushed "); ok {
			if flushed, err = strconv.ParseUint(id, 10, 64); err != nil {
				t.Fatalf("child: %s: %v", lines.Text(), err)
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if flushed < 300 {
		t.Fatalf("child committed only %d verdicts before it ended (%v)", flushed, err)
	}
	if err == nil {
		t.Fatal("the child exited by itself, want it killed")
	}

	j := openJournal(t, dir)
	defer testenv.Close(t, "the journal", j)
	committed := j.Stats().LastID
	if committed < flushed {
		t.Fatalf("journal holds up to id %d after the kill; the child had committed %d", committed, flushed)
	}
	if n := j.OutboxLen(); uint64(n) != committed {
		t.Fatalf("outbox holds %d entries, want all %d committed verdicts (none was published)", n, committed)
	}
	b.Start()
	sub := subscribe(t, b.URL(), "plc", "linesight/line1/+/verdict", nil)
	runLink(t, testOptions(b.URL()), journalOutbox{j}, newFakeApp())
	msgs := sub.await("every committed verdict", "/verdict", func(m []received) bool {
		return distinct(verdictIDs(t, m)) >= int(committed)
	})
	checkInOrder(t, verdictIDs(t, msgs), int(committed))
	if n := republished(t, msgs); n != 0 {
		t.Errorf("%d verdicts published twice", n)
	}
}
