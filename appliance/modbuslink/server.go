package modbuslink

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/linesight/linesight/appliance/plc"
	"github.com/linesight/linesight/appliance/trigger"
)

// Options configure the server.
type Options struct {
	Listen     string // host:port
	UnitID     uint8  // 0: answer every unit id
	MaxClients uint
	// IdleTimeout closes a connection that sends nothing for this long.
	IdleTimeout time.Duration
	Log         *slog.Logger
}

// Server is the Modbus TCP server of one appliance.
type Server struct {
	o       Options
	board   *plc.Board
	line    plc.Line
	cameras []string
	srv     *modbus.ModbusServer

	heartbeat atomic.Uint32
	mu        sync.Mutex
	partIDs   map[int][]uint16 // camera index -> its part-id holding registers
	triggers  map[int]TriggerResult
	recipeRes RecipeResult
	recipes   chan int // indexes to change to, latest first; see recipeWorker
	stop      chan struct{}
	wg        sync.WaitGroup
}

// New makes a server over the board and the line; Start starts it.
func New(o Options, board *plc.Board, line plc.Line) *Server {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Server{o: o, board: board, line: line, cameras: board.Cameras(),
		partIDs: map[int][]uint16{}, triggers: map[int]TriggerResult{},
		recipes: make(chan int, 1), stop: make(chan struct{})}
}

// Start binds the listen address and serves; a bound port is an error now.
func (s *Server) Start() error {
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{
		URL: "tcp://" + s.o.Listen, Timeout: s.o.IdleTimeout, MaxClients: s.o.MaxClients,
		// The library logs each refused client and protocol error; they
		// go to the appliance's log at debug level.
		Logger: log.New(slogWriter{s.o.Log}, "", 0),
	}, s)
	if err != nil {
		return fmt.Errorf("modbus: %s: %w", s.o.Listen, err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("modbus: listen on %s: %w", s.o.Listen, err)
	}
	s.srv = srv
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.beat() }()
	go func() { defer s.wg.Done(); s.recipeWorker() }()
	s.o.Log.Info("modbus server listening", "addr", s.o.Listen, "cameras", len(s.cameras))
	return nil
}

// Run starts the server and serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	s.Stop()
	return nil
}

// Stop closes the listener and every connection.
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Stop()
	}
	close(s.stop)
	s.wg.Wait()
}

// beat counts the heartbeat up every second while the appliance is ready,
// so a PLC that sees it stand still knows the box is not inspecting.
func (s *Server) beat() {
	t := time.NewTicker(heartbeatPeriod)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if s.line.State() == "ready" {
				s.heartbeat.Add(1)
			}
		}
	}
}

// recipeWorker changes the recipe off the client's connection: preparing
// a recipe's classes can take seconds, longer than a PLC waits for a reply.
func (s *Server) recipeWorker() {
	for {
		select {
		case <-s.stop:
			return
		case i := <-s.recipes:
			names := s.line.Recipes()
			res := RecipeDone
			if i >= len(names) {
				res = RecipeUnknown
			} else if err := s.line.SetRecipe(names[i], "modbus"); err != nil {
				s.o.Log.Warn("modbus: recipe change refused", "index", i, "err", err)
				res = RecipeRefused
			}
			s.mu.Lock()
			s.recipeRes = res
			s.mu.Unlock()
		}
	}
}

// unit refuses requests for another unit id when one is set.
func (s *Server) unit(id uint8) error {
	if s.o.UnitID != 0 && id != s.o.UnitID && id != 0 {
		return modbus.ErrBadUnitId
	}
	return nil
}

// inputs is the whole input register space in use, from a snapshot.
func (s *Server) inputs() []uint16 {
	regs := make([]uint16, camBase(len(s.cameras)))
	regs[InMapVersion] = MapVersion
	regs[InState] = uint16(plc.StateCode(s.line.State()))
	regs[InHeartbeat] = uint16(s.heartbeat.Load())
	regs[InAlarms] = uint16(min(len(s.line.ProcessAlarms()), 0xFFFF))
	names := s.line.Recipes()
	regs[InRecipe] = NoIndex
	if i := slices.Index(names, s.line.Recipe()); i >= 0 {
		regs[InRecipe] = uint16(i)
	}
	regs[InRecipeCount] = uint16(len(names))
	regs[InCameraCount] = uint16(len(s.cameras))
	s.mu.Lock()
	regs[InRecipeResult] = uint16(s.recipeRes)
	trig := make(map[int]TriggerResult, len(s.triggers))
	for k, v := range s.triggers {
		trig[k] = v
	}
	s.mu.Unlock()
	for i, cam := range s.cameras {
		last, counters, _ := s.board.Last(cam)
		cameraInputs(regs, camBase(i), last, counters, trig[i])
	}
	return regs
}

// window cuts [addr, addr+n) out of regs; beyond them is an illegal address.
func window[T any](regs []T, addr, n uint16) ([]T, error) {
	end := int(addr) + int(n)
	if end > len(regs) {
		return nil, modbus.ErrIllegalDataAddress
	}
	return regs[addr:end], nil
}

// HandleInputRegisters serves the verdicts, counters and state.
func (s *Server) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	if err := s.unit(req.UnitId); err != nil {
		return nil, err
	}
	return window(s.inputs(), req.Addr, req.Quantity)
}

// HandleHoldingRegisters serves the recipe register and the cameras'
// part-id registers.
func (s *Server) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if err := s.unit(req.UnitId); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	regs := make([]uint16, camBase(len(s.cameras)))
	regs[HoldRecipe] = NoIndex
	names := s.line.Recipes()
	if i := slices.Index(names, s.line.Recipe()); i >= 0 {
		regs[HoldRecipe] = uint16(i)
	}
	for i := range s.cameras {
		copy(regs[camBase(i)+HoldPartID:], s.partIDs[i])
	}
	if _, err := window(regs, req.Addr, req.Quantity); err != nil {
		return nil, err
	}
	if !req.IsWrite {
		return regs[req.Addr : int(req.Addr)+int(req.Quantity)], nil
	}
	for k, v := range req.Args {
		addr := int(req.Addr) + k
		switch {
		case addr == HoldRecipe:
			s.recipeRes = RecipePending
			select { // latest wins: a waiting change is replaced
			case <-s.recipes:
			default:
			}
			s.recipes <- int(v)
		case addr >= CameraBase && (addr-CameraBase)%CameraBlock < PartIDRegisters:
			i, off := (addr-CameraBase)/CameraBlock, (addr-CameraBase)%CameraBlock
			if s.partIDs[i] == nil {
				s.partIDs[i] = make([]uint16, PartIDRegisters)
			}
			s.partIDs[i][off] = v
		default:
			return nil, modbus.ErrIllegalDataAddress
		}
	}
	return nil, nil
}

// HandleCoils serves the trigger coils: setting coil i triggers camera i
// with the part id in its part-id registers. The coil reads 0 again at
// once: a trigger is an edge, and its outcome is the camera's trigger
// result register.
func (s *Server) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	if err := s.unit(req.UnitId); err != nil {
		return nil, err
	}
	if int(req.Addr)+int(req.Quantity) > len(s.cameras) {
		return nil, modbus.ErrIllegalDataAddress
	}
	if !req.IsWrite {
		return make([]bool, req.Quantity), nil
	}
	for k, on := range req.Args {
		if on {
			s.trigger(int(req.Addr) + k)
		}
	}
	return nil, nil
}

func (s *Server) trigger(i int) {
	s.mu.Lock()
	id, ok := readASCII(s.partIDs[i])
	s.mu.Unlock()
	res := TriggerAccepted
	if !ok || trigger.CheckPartID(id) != nil {
		res = TriggerNoPartID
	} else if err := s.line.TriggerPart(s.cameras[i], trigger.Trigger{PartID: id}, time.Now()); err != nil {
		s.o.Log.Warn("modbus: trigger refused", "camera", s.cameras[i], "part_id", id, "err", err)
		res = TriggerRefused
	}
	s.mu.Lock()
	s.triggers[i] = res
	s.mu.Unlock()
}

// HandleDiscreteInputs: none are mapped.
func (s *Server) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

// slogWriter turns the library's log lines into debug records.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Debug("modbus", "msg", string(p))
	return len(p), nil
}

// StartLoopback starts a server on a free loopback port and returns it
// with the port, for the bench and the tests. The library binds its own
// listener, so the port cannot be handed over: random high ports are tried
// until one binds (a port in use fails at the bind, never later).
func StartLoopback(o Options, board *plc.Board, line plc.Line) (*Server, string, error) {
	for range 50 {
		port := strconv.Itoa(20000 + rand.IntN(40000))
		o.Listen = net.JoinHostPort("127.0.0.1", port)
		s := New(o, board, line)
		err := s.Start()
		if err == nil {
			return s, port, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, "", err
		}
	}
	return nil, "", errors.New("modbus: no free loopback port in 50 tries")
}
