// SPDX-License-Identifier: MIT
// Contracts for the threat-data and provenance tests: written for Airlock's tests, each the
// shape of an attack or of its benign twin.
pragma solidity ^0.8.24;

/// Something to approve or call: a plain contract with one function.
contract Sink {
    uint256 public calls;
    function poke() external { calls += 1; }
}

/// An EIP-1967 proxy: the implementation and admin in the standard slots, every call
/// delegated. `admin` may be a key (the attack's shape) or a contract (the twin).
contract Proxy1967 {
    bytes32 private constant IMPL = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;
    bytes32 private constant ADMIN = 0xb53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103;
    constructor(address impl, address admin) {
        assembly {
            sstore(IMPL, impl)
            sstore(ADMIN, admin)
        }
    }
    fallback() external payable {
        assembly {
            let impl := sload(IMPL)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }
}

/// A 7702 sweeper: no functions, only a fallback that sends whatever the account holds to
/// its owner. Written in assembly so no selector is compared (as the real ones are).
contract Sweeper {
    constructor() {
        // Runtime: CALL(gas, 0xa11ce…, selfbalance, 0, 0, 0, 0); STOP
        bytes memory runtime = hex"600060006000600047735555555555555555555555555555555555555555555af100";
        assembly { return(add(runtime, 32), mload(runtime)) }
    }
}

/// Paid functions: a "security update" that passes the ETH straight on (the scam's shape); a
/// "claim" that keeps it, and a plain payment that passes it on (the twins).
contract Bait {
    address payable public dest;
    constructor(address payable d) { dest = d; }
    function securityUpdate() external payable { dest.transfer(msg.value); }
    function claim() external payable {}
    function pay() external payable { dest.transfer(msg.value); }
}

/// Hands out a token that has no pool anywhere: what arrives cannot be sold back through the
/// router, and that alone is no sign of a honeypot.
contract Faucet {
    function drip(address token) external {
        require(TrapToken(token).transfer(msg.sender, 1 ether), "transfer");
    }
}

/// An ERC-20 whose owner sets the pool: a share of every transfer by anyone but the owner and
/// the pool (a sale, or sending it on) is burnt (`taxPct`), a share of what the pool sends (a
/// buy) too (`buyTaxPct`), and with `honeypot` only the owner and the pool may send at all:
/// buying works, nothing else does.
contract TrapToken {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    address public owner;
    address public pool;
    uint256 public taxPct;
    uint256 public buyTaxPct;
    bool public honeypot;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory n, string memory s, uint256 tax, uint256 buyTax, bool trap) {
        (name, symbol, taxPct, buyTaxPct, honeypot, owner) = (n, s, tax, buyTax, trap, msg.sender);
        totalSupply = 1_000_000 ether;
        balanceOf[msg.sender] = totalSupply;
        emit Transfer(address(0), msg.sender, totalSupply);
    }

    function setPool(address p) external {
        require(msg.sender == owner, "not owner");
        pool = p;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 a = allowance[from][msg.sender];
        if (a != type(uint256).max) {
            require(a >= value, "allowance");
            allowance[from][msg.sender] = a - value;
        }
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        if (honeypot) require(from == owner || from == pool, "trading is not enabled");
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        uint256 pct = from == pool ? buyTaxPct : taxPct;
        uint256 tax = (from == owner || to == owner || pool == address(0)) ? 0 : value * pct / 100;
        balanceOf[to] += value - tax;
        totalSupply -= tax;
        emit Transfer(from, to, value - tax);
        if (tax > 0) emit Transfer(from, address(0), tax);
    }
}
