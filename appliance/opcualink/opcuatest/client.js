// An OPC UA client for the server tests, with node-opcua (a test peer from
// npm): it connects to ENDPOINT, finds the line's namespace, reads the
// nodes named in the job, calls the methods in it, and prints the results
// as JSON.
//
// Usage: node client.js JOB.json
// job: {"endpoint": "opc.tcp://...", "namespace": "urn:linesight:<line>",
//       "read": ["cam0.OutcomeCode", ...],
//       "call": [{"method": "Appliance.Trigger", "args": ["cam0", "P-1"]}, ...]}
"use strict";
const fs = require("fs");
const { OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, DataType } = require("node-opcua-client");

async function main() {
  const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const client = OPCUAClient.create({
    securityMode: MessageSecurityMode.None, securityPolicy: SecurityPolicy.None,
    endpointMustExist: false, connectionStrategy: { maxRetry: 0 },
  });
  await client.connect(job.endpoint);
  const session = await client.createSession();
  const nsArray = await session.read({ nodeId: "ns=0;i=2255", attributeId: AttributeIds.Value });
  const ns = nsArray.value.value.indexOf(job.namespace);
  if (ns < 0) throw new Error("namespace " + job.namespace + " not in " + JSON.stringify(nsArray.value.value));
  const out = { namespace: ns, values: {}, status: {}, calls: [] };
  for (const name of job.read || []) {
    const dv = await session.read({ nodeId: `ns=${ns};s=${name}`, attributeId: AttributeIds.Value });
    let v = dv.value.value;
    if (typeof v === "bigint") v = v.toString();
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "number" && dv.value.dataType === DataType.UInt64) v = (v[0] * 4294967296 + v[1]).toString();
    if (v instanceof Date) v = v.toISOString();
    if (ArrayBuffer.isView(v)) v = Array.from(v);
    out.values[name] = v;
    out.status[name] = dv.statusCode.name;
  }
  for (const c of job.call || []) {
    const res = await session.call({
      objectId: `ns=${ns};s=Appliance`, methodId: `ns=${ns};s=${c.method}`,
      inputArguments: c.args.map((a) => ({ dataType: DataType.String, value: a })),
    });
    out.calls.push(res.statusCode.name);
  }
  await session.close();
  await client.disconnect();
  process.stdout.write("\nRESULT " + JSON.stringify(out) + "\n");
}

main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
