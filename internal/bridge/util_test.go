package bridge_test

import (
	"google.golang.org/protobuf/proto"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
)

func protoMarshal(m proto.Message) ([]byte, error) { return proto.Marshal(m) }

func newAgent(path string) (*agent.Agent, error) { return agent.New(path, agent.Options{}) }
