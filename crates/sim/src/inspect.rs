//! The inspector: every call frame, and the ETH that moves in the frames that stick.

use airlock_types::{CallFact, CallKind};
use alloy_primitives::{Address, Bytes, U256};
use revm::Inspector;
use revm::context::ContextTr;
use revm::context_interface::CreateScheme;
use revm::interpreter::{CallInputs, CallOutcome, CallScheme, CallValue, CreateInputs, CreateOutcome};

/// A movement of ETH: (from, to, amount).
pub(crate) type EthMove = (Address, Address, U256);

#[derive(Debug, Default)]
pub(crate) struct Tracer {
    pub calls: Vec<CallFact>,
    /// ETH moves of frames that completed, up to the transaction's own frame.
    pub eth: Vec<EthMove>,
    open: Vec<Frame>,
}

#[derive(Debug)]
struct Frame {
    call: usize,
    moves: Vec<EthMove>,
}

impl Tracer {
    fn enter(&mut self, fact: CallFact, moves: Vec<EthMove>) {
        self.calls.push(fact);
        self.open.push(Frame { call: self.calls.len() - 1, moves });
    }

    /// Closes the innermost frame: its moves join its parent's if it succeeded.
    fn leave(&mut self, ok: bool, created: Option<Address>) {
        let Some(frame) = self.open.pop() else { return };
        let fact = &mut self.calls[frame.call];
        fact.failed = !ok;
        let mut moves = frame.moves;
        if let Some(address) = created {
            fact.to = address;
            fact.code_address = address;
            if !fact.value.is_zero() && ok {
                moves.insert(0, (fact.from, address, fact.value));
            }
        }
        if !ok {
            return;
        }
        match self.open.last_mut() {
            Some(parent) => parent.moves.extend(moves),
            None => self.eth.extend(moves),
        }
    }
}

impl<CTX: ContextTr> Inspector<CTX> for Tracer {
    fn call(&mut self, context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        let input = inputs.input.as_bytes(context);
        let selector = (input.len() >= 4).then(|| Bytes::copy_from_slice(&input[..4]));
        let (value, moved) = match inputs.value {
            CallValue::Transfer(v) => (v, v),
            CallValue::Apparent(v) => (v, U256::ZERO),
        };
        let kind = match inputs.scheme {
            CallScheme::Call => CallKind::Call,
            CallScheme::CallCode => CallKind::CallCode,
            CallScheme::DelegateCall => CallKind::DelegateCall,
            CallScheme::StaticCall => CallKind::StaticCall,
        };
        let fact = CallFact {
            depth: self.open.len() as u64,
            kind,
            from: inputs.caller,
            to: inputs.target_address,
            code_address: inputs.bytecode_address,
            value,
            selector,
            failed: false,
        };
        // CALLCODE moves nothing out of the caller: it runs the code in the caller's account.
        let moves = if moved.is_zero() || kind == CallKind::CallCode {
            vec![]
        } else {
            vec![(inputs.caller, inputs.target_address, moved)]
        };
        self.enter(fact, moves);
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.leave(outcome.result.result.is_ok(), None);
    }

    fn create(&mut self, _context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        let kind = match inputs.scheme() {
            CreateScheme::Create2 { .. } => CallKind::Create2,
            _ => CallKind::Create,
        };
        let fact = CallFact {
            depth: self.open.len() as u64,
            kind,
            from: inputs.caller(),
            to: Address::ZERO,
            code_address: Address::ZERO,
            value: inputs.value(),
            selector: None,
            failed: false,
        };
        self.enter(fact, vec![]);
        None
    }

    fn create_end(&mut self, _context: &mut CTX, _inputs: &CreateInputs, outcome: &mut CreateOutcome) {
        let ok = outcome.result.result.is_ok();
        self.leave(ok, outcome.address.filter(|_| ok));
    }

    fn selfdestruct(&mut self, contract: Address, target: Address, value: U256) {
        if value.is_zero() || contract == target {
            return;
        }
        if let Some(frame) = self.open.last_mut() {
            frame.moves.push((contract, target, value));
        }
    }
}
