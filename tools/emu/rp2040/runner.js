// Runs stock RP2040 firmware (a .uf2) in rp2040js, with a W5500 on SPI0 that lives
// in the Python parent (tools/emu/rp2040_board.py, which starts this file; see there
// for how to run a board).  Not meant to be started by hand:
//
//     node tools/emu/rp2040/runner.js '{"bootrom": ..., "uf2": ..., "fs": [[path, offset]],
//         "pins": {"cs": 17, "rst": 20, "int": 21}, "spi": 0, "ctl_in": FD, "ctl_out": FD,
//         "sync_us": 500, "console": "usb"}'
//
// Install the emulator with `npm ci` in tools/emu/rp2040 (rp2040js, pinned in package-lock.json).
//
// What it does:
// - loads the boot ROM, writes every UF2 block's payload into the flash array, and
//   copies filesystem images into flash at their offsets (the emulator does not
//   program flash, so a filesystem must be preloaded);
// - runs core 0 instruction by instruction on the simulated clock (125 MHz), steps
//   the PIO blocks from the same loop, and skips ahead to the next alarm while the
//   core sleeps in WFI/WFE;
// - USB CDC host side: the REPL's bytes go to the parent; an OUT transfer the
//   device arms is held until the host has bytes for it (rp2040js would complete
//   it at once with 0 bytes, an interrupt every ~10 us of simulated time);
// - SPI: each byte completes 8 SPI clocks after it starts, at the rate the
//   firmware programmed (clk_peri / prescaler / (1 + SCR)); MOSI bytes of one
//   chip-select-low transaction are sent to the parent in batches, reads get a
//   read-ahead chunk from the chip model and the unused count is reported when CS
//   goes high, so the chip's counters stay exact;
// - GPIO: driven output levels are mirrored onto the pins' inputs (a real pad reads
//   back what it drives); the chip's INTn level is set on its pin only when it
//   changes (rp2040js latches an edge on every setInputValue);
// - every sync_us of simulated time (and when the core sleeps) it syncs with the
//   parent: console bytes both ways, INTn, frames that arrived on the wire;
// - flash writes ("flash_writes": true, the default): rp2040js does not emulate
//   programming the QSPI flash, so the boot ROM's flash entry points that the
//   pico-sdk calls (flash_range_erase, flash_range_program, and the
//   connect/exit-XIP/flush/enter-XIP steps around them, found through the ROM's
//   function table as rom_func_lookup does) are served here: when the core
//   reaches one, the erase (bytes to 0xFF) or program (bytes ANDed, as NOR
//   flash does) is done on the emulator's flash array, the call costs the
//   chip's typical time (W25Q16JV: 45 ms per 4 KB sector erase, 0.4 ms per
//   256-byte page program) and returns to LR.  "save_flash": [path, offset,
//   length] writes that region to a file when the runner exits (a board's
//   filesystem kept for the next start).
//
// Protocol on the two pipes (little-endian): request = type byte, u32 length,
// payload; reply = u32 length, payload.  Types: 'X' SPI exchange (reply: MISO
// bytes), 'C' CS high (u32 unused read-ahead, f64 simulated ns,
// MOSI bytes; reply: INTn level), 'P' pin level (no reply), 'S' sync
// (reply: flags, INTn, console input).
'use strict';

const fs = require('fs');
const path = require('path');
const { RP2040, USBCDC, ConsoleLogger, LogLevel } = require('rp2040js');

const cfg = JSON.parse(process.argv[2]);
const ctlIn = cfg.ctl_in;
const ctlOut = cfg.ctl_out;

function die(msg) {
  try {
    fs.writeSync(2, 'rp2040 runner: ' + msg + '\n');
  } catch (e) {
    // parent gone
  }
  process.exit(1);
}

// ---------------------------------------------------------------- pipes
const hdr = Buffer.alloc(5);
function send(type, payload) {
  hdr[0] = type.charCodeAt(0);
  hdr.writeUInt32LE(payload.length, 1);
  writeAll(hdr);
  if (payload.length) writeAll(payload);
}
function writeAll(buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(ctlOut, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      process.exit(0); // parent gone
    }
  }
}
function readExact(n) {
  const buf = Buffer.alloc(n);
  let off = 0;
  while (off < n) {
    let k;
    try {
      k = fs.readSync(ctlIn, buf, off, n - off, null);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      process.exit(0);
    }
    if (k === 0) process.exit(0); // parent closed the pipe: stop
    off += k;
  }
  return buf;
}
const lenBuf = Buffer.alloc(4);
function request(type, payload) {
  send(type, payload);
  const n = readExact(4).readUInt32LE(0);
  return n ? readExact(n) : Buffer.alloc(0);
}

// ------------------------------------------------------------ the chip
const mcu = new RP2040();
mcu.logger = new ConsoleLogger(LogLevel.Error, true);
const rom = fs.readFileSync(cfg.bootrom);
if (rom.length !== 16384) die('boot ROM must be 16384 bytes: ' + cfg.bootrom);
mcu.loadBootrom(new Uint32Array(rom.buffer, rom.byteOffset, 4096));

function loadUF2(file) {
  const data = fs.readFileSync(file);
  let blocks = 0;
  for (let off = 0; off + 512 <= data.length; off += 512) {
    const b = data.subarray(off, off + 512);
    if (b.readUInt32LE(0) !== 0x0a324655 || b.readUInt32LE(4) !== 0x9e5d5157) continue;
    const addr = b.readUInt32LE(12);
    const size = b.readUInt32LE(16);
    if (addr < 0x10000000 || size > 476) continue;
    mcu.flash.set(b.subarray(32, 32 + size), addr - 0x10000000);
    blocks++;
  }
  if (!blocks) die('no RP2040 UF2 blocks in ' + file);
}
loadUF2(cfg.uf2);
for (const [file, offset] of cfg.fs || []) {
  mcu.flash.set(fs.readFileSync(file), offset);
}
// Start at boot2 in flash, as the boot ROM does after its checks (rp2040js's demo
// does the same; the ROM's own flash probing is not emulated).
mcu.core.PC = 0x10000000;
// The QSPI chip-select pad is what CircuitPython reads as BOOTSEL: give it its
// reset value (input enabled, pull-up) and drive it high (button released).
mcu.qspi[1].padValue = 0x5a;
mcu.qspi[1].setInputValue(true);

// ------------------------------------------------------- flash writes
// The ROM's function table: a 16-bit pointer at 0x14 to (u16 code, u16 address)
// pairs ending with code 0; code = c1 | c2 << 8 (rom_table_code).
const romHooks = new Map();
const flashStats = { erased: 0, programmed: 0, calls: 0 };
function romCode(s) {
  return s.charCodeAt(0) | (s.charCodeAt(1) << 8);
}
function romFunctions() {
  const table = mcu.readUint16(0x14);
  const found = new Map();
  for (let p = table; p < 0x4000; p += 4) {
    const code = mcu.readUint16(p);
    if (!code) break;
    found.set(code, mcu.readUint16(p + 2));
  }
  return found;
}
const NS_PER_SECTOR_ERASE = 45e6;
const NS_PER_PAGE_PROGRAM = 0.4e6;
function flashCall(ns) {
  flashStats.calls++;
  const c = Math.max(1, Math.round(ns / cycleNanos));
  cycles += c;
  clock.tick(c * cycleNanos);
  core.PC = core.LR & ~1; // return (bx lr) to Thumb code
}
if (cfg.flash_writes !== false) {
  const fns = romFunctions();
  const hook = (name, fn) => {
    const a = fns.get(romCode(name));
    if (a === undefined) die('boot ROM has no ' + name + ' function');
    romHooks.set(a & ~1, fn);
  };
  const flashLen = () => mcu.flash.length;
  hook('RE', () => {
    // flash_range_erase(addr, count, block_size, block_cmd): whole 4 KB sectors
    const addr = core.registers[0] >>> 0;
    const count = core.registers[1] >>> 0;
    const start = addr & ~0xfff;
    const end = Math.min(flashLen(), (addr + count + 0xfff) & ~0xfff);
    if (start < end) mcu.flash.fill(0xff, start, end);
    flashStats.erased += Math.max(0, end - start);
    flashCall((Math.max(0, end - start) / 4096) * NS_PER_SECTOR_ERASE);
  });
  hook('RP', () => {
    // flash_range_program(addr, data, count): bits can only go from 1 to 0
    const addr = core.registers[0] >>> 0;
    const data = core.registers[1] >>> 0;
    const count = core.registers[2] >>> 0;
    for (let i = 0; i < count && addr + i < flashLen(); i++) {
      mcu.flash[addr + i] &= mcu.readUint8(data + i);
    }
    flashStats.programmed += count;
    flashCall(Math.ceil(count / 256) * NS_PER_PAGE_PROGRAM);
  });
  for (const name of ['IF', 'EX', 'FC', 'CX']) hook(name, () => flashCall(1000));
}
if (cfg.save_flash) {
  const [file, offset, length] = cfg.save_flash;
  process.on('exit', () => {
    try {
      fs.writeFileSync(file, mcu.flash.subarray(offset, offset + length));
    } catch (e) {
      fs.writeSync(2, 'rp2040 runner: could not save the flash to ' + file + ': ' + e.message + '\n');
    }
  });
}

// ----------------------------------------------------------- USB CDC
const cdc = new USBCDC(mcu.usbCtrl);
const usb = mcu.usbCtrl;
let consoleOut = [];
let consoleOutBytes = 0;
const consoleIn = []; // bytes from the host not yet in the CDC FIFO
let heldOut = -1; // size of an armed OUT transfer we hold, or -1
let connected = false;
cdc.onDeviceConnected = () => {
  // The banner went out before the host set DTR (TinyUSB drops it): a CR asks
  // the REPL for a fresh prompt, as a terminal user would.
  connected = true;
  consoleIn.push(13);
  feedOut();
};
cdc.onSerialData = (buf) => {
  if (buf.length) {
    consoleOut.push(Buffer.from(buf));
    consoleOutBytes += buf.length;
  }
};
function feedOut() {
  while (consoleIn.length && !cdc.txFIFO.full) cdc.sendSerialByte(consoleIn.shift());
  if (heldOut >= 0 && !cdc.txFIFO.empty) {
    const n = Math.min(heldOut, cdc.txFIFO.itemCount);
    const buf = new Uint8Array(n);
    for (let i = 0; i < n; i++) buf[i] = cdc.txFIFO.pull();
    heldOut = -1;
    usb.endpointReadDone(cdc.outEndpoint, buf);
  }
}
usb.onEndpointRead = (endpoint, size) => {
  if (endpoint !== cdc.outEndpoint) return;
  heldOut = size; // NAK until there is data, as a real host does
  feedOut();
};

// A UART console instead ("console": "uart0" / "uart1"): bytes both ways, no USB.
const uartConsole = /^uart([01])$/.exec(cfg.console || 'usb');
if (uartConsole) {
  const uart = mcu.uart[+uartConsole[1]];
  uart.onByte = (b) => {
    consoleOut.push(Buffer.from([b]));
    consoleOutBytes++;
  };
  connected = true;
}
function feedUart() {
  const uart = mcu.uart[+uartConsole[1]];
  while (consoleIn.length) uart.feedByte(consoleIn.shift());
}

// -------------------------------------------------------------- GPIO
const pins = cfg.pins || {};
const csPin = pins.cs;
const intPin = pins.int;
const rstPin = pins.rst;
let intLevel = true;
if (intPin !== undefined && intPin !== null) mcu.gpio[intPin].setInputValue(true);
function setInt(level) {
  if (intPin === undefined || intPin === null || level === intLevel) return;
  intLevel = level;
  mcu.gpio[intPin].setInputValue(level);
}
const HIGH = 1;
const LOW = 0;
for (let i = 0; i < mcu.gpio.length; i++) {
  const pin = mcu.gpio[i];
  pin.addListener((state) => {
    if (i === intPin) return;
    if (state === HIGH || state === LOW) {
      const level = state === HIGH;
      if (pin.rawInputValue !== level) pin.setInputValue(level); // the pad reads what it drives
      if (i === csPin) csChanged(level);
      else if (i === rstPin) send('P', Buffer.from([i, level ? 1 : 0]));
    }
  });
}

// --------------------------------------------------------------- SPI
const spi = mcu.spi[cfg.spi || 0];
let spiBytes = 0;
let csLow = false;
let txIndex = 0; // bytes clocked in this CS-low transaction
let pending = []; // MOSI bytes the parent has not seen yet
let ctrl = -1; // W5500 control byte of this transaction (-1: not yet)
let ahead = null; // read-ahead MISO bytes
let aheadPos = 0;
let aheadChunk = 16;
let spiTxns = 0;
function csChanged(level) {
  if (!level) {
    csLow = true;
    txIndex = 0;
    pending = [];
    ctrl = -1;
    ahead = null;
    aheadPos = 0;
    aheadChunk = 16;
    return;
  }
  if (!csLow) return;
  csLow = false;
  spiTxns++;
  const unused = ahead ? ahead.length - aheadPos : 0;
  const p = Buffer.alloc(12 + pending.length);
  p.writeUInt32LE(unused, 0);
  p.writeDoubleLE(mcu.clock.nanos, 4); // when: a SEND command takes effect now
  for (let i = 0; i < pending.length; i++) p[12 + i] = pending[i];
  const r = request('C', p);
  setInt(!!r[0]);
  pending = [];
  ahead = null;
}
function exchange(mosi, readAhead) {
  // MISO for the pending bytes plus this one, and readAhead more data bytes
  pending.push(mosi);
  const p = Buffer.alloc(4 + pending.length);
  p.writeUInt32LE(readAhead, 0);
  for (let i = 0; i < pending.length; i++) p[4 + i] = pending[i];
  pending = [];
  return request('X', p);
}
function misoFor(mosi) {
  const i = txIndex++;
  if (!csLow) return 0xff; // nobody selected: MISO floats (reads as pulled up)
  if (i < 3) {
    pending.push(mosi);
    if (i === 2) ctrl = mosi;
    return i + 1; // the W5500 shifts out 01 02 03 during the header
  }
  const vdm = (ctrl & 3) === 0;
  if (vdm && !(ctrl & 4)) {
    // read: MOSI is ignored by the chip, serve from the read-ahead
    if (!ahead || aheadPos >= ahead.length) {
      const got = exchange(mosi, aheadChunk - 1);
      if (ahead) {
        // the previous chunk was used up: its bytes were all real reads
      }
      ahead = got;
      aheadPos = 0;
      if (aheadChunk < 2048) aheadChunk *= 4;
    }
    return ahead[aheadPos++];
  }
  if (vdm) {
    pending.push(mosi); // write: MISO is don't-care
    return 0;
  }
  // FDM or anything else: one exact exchange per byte
  return exchange(mosi, 0)[0];
}
let spiAlarmValue = 0;
const spiAlarm = mcu.clock.createAlarm(() => spi.completeTransmit(spiAlarmValue));
spi.onTransmit = (value) => {
  spiBytes++;
  spiAlarmValue = misoFor(value);
  const hz = spi.clockFrequency || 1e6;
  spiAlarm.schedule((8 * 1e9) / hz);
};

// --------------------------------------------------------------- sync
let exiting = false;
function sync(waiting) {
  const out = consoleOut.length ? Buffer.concat(consoleOut) : Buffer.alloc(0);
  consoleOut = [];
  consoleOutBytes = 0;
  const p = Buffer.alloc(32 + out.length);
  p.writeDoubleLE(mcu.clock.nanos, 0);
  p.writeDoubleLE(cycles, 8);
  p.writeDoubleLE(spiBytes, 16);
  p[24] = waiting ? 1 : 0;
  p[25] = connected ? 1 : 0;
  p.writeUInt32LE(spiTxns, 28);
  out.copy(p, 32);
  const r = request('S', p);
  const flags = r[0];
  setInt(!!r[1]);
  for (let i = 2; i < r.length; i++) consoleIn.push(r[i]);
  if (consoleIn.length) (uartConsole ? feedUart : feedOut)();
  if (flags & 1) exiting = true;
}

// --------------------------------------------------------------- run
let cycles = 0;
const core = mcu.core;
const clock = mcu.clock;
const syncNs = (cfg.sync_us || 500) * 1000;
const cycleNanos = 1e9 / 125e6;
const pio = mcu.pio;
function run() {
  while (!exiting) {
    const target = clock.nanos + syncNs;
    let slept = false;
    while (clock.nanos < target) {
      if (core.waiting) {
        const dt = clock.nanosToNextAlarm;
        if (dt <= 0 || clock.nanos + dt > target) {
          clock.tick(target - clock.nanos);
          slept = true;
          break;
        }
        clock.tick(dt);
        slept = true;
      } else {
        if (core.PC < 0x4000 && romHooks.size) {
          const h = romHooks.get(core.PC);
          if (h !== undefined) {
            h();
            continue;
          }
        }
        const c = core.executeInstruction();
        cycles += c;
        clock.tick(c * cycleNanos);
        if (!pio[0].stopped) pio[0].step();
        if (!pio[1].stopped) pio[1].step();
      }
    }
    sync(slept && core.waiting);
  }
  process.exit(0);
}
try {
  run();
} catch (e) {
  die('the emulated CPU stopped at PC 0x' + (core.PC >>> 0).toString(16) + ': ' + e.message);
}
