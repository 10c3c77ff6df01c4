#!/usr/bin/env node
// Validates Microsoft Teams messages (an Adaptive Card attachment) with the Adaptive
// Cards library itself (npm `adaptivecards`, which must be in tests/npm or $HOMEOSTAT_NPM):
// every parse warning (unknown element, invalid property value) and validation failure
// (a required property missing, an unsupported version) is a problem.
// Usage: report-validate-card.js FILE.json…  Exit 1 with the problems listed, else 0.
const fs = require("fs");
const path = require("path");

const modules = process.env.HOMEOSTAT_NPM || path.join(__dirname, "..", "tests", "npm", "node_modules");
const AC = require(path.join(modules, "adaptivecards", "dist", "adaptivecards.js"));

function problems(card) {
  const out = [];
  const parsed = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  parsed.parse(card, context);
  for (let i = 0; i < context.eventCount; i++) out.push("parse: " + context.getEventAt(i).message);
  for (const e of parsed.validateProperties().validationEvents) out.push("validate: " + e.message);
  return out;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const message = JSON.parse(fs.readFileSync(file, "utf8"));
  const attachments = message.attachments || [];
  if (message.type !== "message" || attachments.length === 0) {
    console.log(`${file}: not a Teams message with an attachment`);
    failed = true;
    continue;
  }
  for (const [i, a] of attachments.entries()) {
    for (const p of problems(a.content)) {
      console.log(`${file}: attachments[${i}]: ${p}`);
      failed = true;
    }
  }
}
process.exit(failed ? 1 : 0);
