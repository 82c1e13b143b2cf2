// Package plctest is a plc.Line for the protocol servers' tests: it
// records the triggers and recipe changes it is asked for.
package plctest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/linesight/linesight/appliance/processalarm"
	"github.com/linesight/linesight/appliance/trigger"
)

// Line is a ready appliance with the recipes widget-a and widget-b.
type Line struct {
	mu       sync.Mutex
	recipe   string
	triggers []string // camera/part
	by       []string // who changed the recipe, in order
	// Refuse makes TriggerPart fail, as a camera that is not triggered.
	Refuse bool
	// Alarms are the process alarms it reports.
	Alarms []processalarm.Alarm
}

// New starts on recipe.
func New(recipe string) *Line { return &Line{recipe: recipe} }

func (l *Line) State() string { return "ready" }

func (l *Line) TriggerPart(camera string, t trigger.Trigger, _ time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Refuse {
		return errors.New("camera is not triggered")
	}
	l.triggers = append(l.triggers, camera+"/"+t.PartID)
	return nil
}

func (l *Line) Recipe() string    { l.mu.Lock(); defer l.mu.Unlock(); return l.recipe }
func (l *Line) Recipes() []string { return []string{"widget-a", "widget-b"} }

func (l *Line) SetRecipe(name, by string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.Recipes(), name) {
		return fmt.Errorf("no recipe %q", name)
	}
	l.recipe, l.by = name, append(l.by, by)
	return nil
}

func (l *Line) ProcessAlarms() []processalarm.Alarm { return l.Alarms }

// Triggered are the triggers taken, as camera/part.
func (l *Line) Triggered() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.triggers)
}

// ChangedBy are who changed the recipe, in order.
func (l *Line) ChangedBy() []string { l.mu.Lock(); defer l.mu.Unlock(); return slices.Clone(l.by) }
