package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
	"github.com/simonvetter/modbus"

	"github.com/linesight/linesight/appliance/app"
	"github.com/linesight/linesight/appliance/modbuslink"
	"github.com/linesight/linesight/appliance/opcualink"
)

// plcLoad is `linesight bench --plc-load`: the Modbus and OPC UA servers
// on loopback with a client of each reading every camera's last verdict
// at pollRate, as PLCs and a SCADA would while the loop is measured.
type plcLoad struct {
	polls, errs atomic.Uint64
	stop        func()
}

const pollRate = 10 // reads a second, per client

func startPLCLoad(ctx context.Context, a *app.App, line string, log *slog.Logger) (*plcLoad, error) {
	quiet := slog.New(slog.DiscardHandler)
	mb, mbPort, err := modbuslink.StartLoopback(modbuslink.Options{Log: quiet}, a.Board(), a)
	if err != nil {
		return nil, err
	}
	mbAddr := net.JoinHostPort("127.0.0.1", mbPort)
	ua := opcualink.New(opcualink.Options{Listen: "127.0.0.1:0", Line: line, Log: quiet}, a.Board(), a)
	if err := ua.Start(ctx); err != nil {
		mb.Stop()
		return nil, err
	}
	l := &plcLoad{}
	pollCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	cameras := len(a.Board().Cameras())
	wg.Add(2)
	go func() { defer wg.Done(); l.pollModbus(pollCtx, mbAddr, cameras) }()
	go func() { defer wg.Done(); l.pollOPCUA(pollCtx, ua.Endpoint(), line, a.Board().Cameras()) }()
	l.stop = func() { cancel(); wg.Wait(); ua.Stop(); mb.Stop() }
	log.Info("bench: Modbus and OPC UA clients polling", "rate_hz", pollRate, "modbus", mbAddr, "opcua", ua.Endpoint())
	return l, nil
}

func (l *plcLoad) tick(ctx context.Context, read func() error) {
	t := time.NewTicker(time.Second / pollRate)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := read(); err != nil {
			l.errs.Add(1)
		} else {
			l.polls.Add(1)
		}
	}
}

func (l *plcLoad) pollModbus(ctx context.Context, addr string, cameras int) {
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + addr, Timeout: time.Second})
	if err == nil {
		err = c.Open()
	}
	if err != nil {
		l.errs.Add(1)
		return
	}
	defer c.Close()
	l.tick(ctx, func() error {
		if _, err := c.ReadRegisters(0, 8, modbus.INPUT_REGISTER); err != nil {
			return err
		}
		for i := range cameras {
			if _, err := c.ReadRegisters(uint16(modbuslink.CameraBase+i*modbuslink.CameraBlock), 36, modbus.INPUT_REGISTER); err != nil {
				return err
			}
		}
		return nil
	})
}

func (l *plcLoad) pollOPCUA(ctx context.Context, endpoint, line string, cameras []string) {
	c, err := opcua.NewClient(endpoint, opcua.SecurityMode(ua.MessageSecurityModeNone))
	if err == nil {
		err = c.Connect(ctx)
	}
	if err != nil {
		l.errs.Add(1)
		return
	}
	defer c.Close(context.Background())
	ns, err := c.FindNamespace(ctx, opcualink.NamespaceURI(line))
	if err != nil {
		l.errs.Add(1)
		return
	}
	var nodes []*ua.ReadValueID
	for _, cam := range cameras {
		for _, v := range []string{"Count", "OutcomeCode", "PartID", "Confidence"} {
			nodes = append(nodes, &ua.ReadValueID{NodeID: ua.NewStringNodeID(ns, cam+"."+v), AttributeID: ua.AttributeIDValue})
		}
	}
	l.tick(ctx, func() error {
		resp, err := c.Read(ctx, &ua.ReadRequest{NodesToRead: nodes, TimestampsToReturn: ua.TimestampsToReturnNeither})
		if err != nil {
			return err
		}
		for _, r := range resp.Results {
			if r.Status != ua.StatusOK {
				return fmt.Errorf("read: %v", r.Status)
			}
		}
		return nil
	})
}
