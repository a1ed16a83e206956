// SPDX-License-Identifier: MIT
// Test contracts for Airlock's simulation tests, compiled at test time with solc from npm.
pragma solidity ^0.8.20;

/// The shape of a drainer that evades simulators: it refunds when `block.coinbase` is zero
/// (as in many simulators and devnets) and keeps the value in a real block.
contract Evasive {
    address public immutable owner;

    constructor() {
        owner = msg.sender;
    }

    function claim() external payable {
        if (block.coinbase == address(0)) {
            payable(msg.sender).transfer(msg.value);
        } else {
            payable(owner).transfer(msg.value);
        }
    }
}

/// Reverts with a custom error (OpenZeppelin 5's, which Airlock knows by name).
contract Strict {
    error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed);

    function need(uint256 want) external view {
        revert ERC20InsufficientBalance(msg.sender, 1, want);
    }
}

/// A minimal EIP-7702 batch executor: the delegating account calls out as itself.
contract BatchExecutor {
    struct Call {
        address to;
        uint256 value;
        bytes data;
    }

    receive() external payable {}

    function execute(Call[] calldata calls) external payable {
        require(msg.sender == address(this), "only the account itself");
        for (uint256 i = 0; i < calls.length; i++) {
            (bool ok, ) = calls[i].to.call{value: calls[i].value}(calls[i].data);
            require(ok, "call failed");
        }
    }
}

/// The allowance part of Permit2's interface (approve, allowance, the Approval event), for
/// tests: Permit2's own bytecode is not published on npm.
contract Permit2Allowances {
    struct Packed {
        uint160 amount;
        uint48 expiration;
        uint48 nonce;
    }

    mapping(address => mapping(address => mapping(address => Packed))) public allowance;

    event Approval(
        address indexed owner, address indexed token, address indexed spender, uint160 amount, uint48 expiration
    );

    function approve(address token, address spender, uint160 amount, uint48 expiration) external {
        Packed storage p = allowance[msg.sender][token][spender];
        p.amount = amount;
        p.expiration = expiration;
        emit Approval(msg.sender, token, spender, amount, expiration);
    }
}

/// The shape of a time-bomb drainer: for its first half hour it refunds what it is sent, so a
/// simulation now shows nothing lost; after that it keeps the value for its owner.
contract TimeBomb {
    address public immutable owner;
    uint256 public immutable armedAt;

    constructor() {
        owner = msg.sender;
        armedAt = block.timestamp + 30 minutes;
    }

    function claim() external payable {
        if (block.timestamp < armedAt) {
            payable(msg.sender).transfer(msg.value);
        } else {
            payable(owner).transfer(msg.value);
        }
    }
}

/// The shape of a fake "security update" or "claim": the ETH it is paid goes straight on to
/// its owner's wallet.
contract Forwarder {
    address payable public immutable owner;

    constructor(address payable to) {
        owner = to;
    }

    function securityUpdate() external payable {
        owner.transfer(msg.value);
    }
}

interface IERC20Pull {
    function balanceOf(address who) external view returns (uint256);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// The shape of an allowance drainer: a "claim" that pulls the caller's whole balance of a
/// token the caller approved earlier, to the drainer's wallet.
contract AllowancePull {
    address public immutable owner;

    constructor(address to) {
        owner = to;
    }

    function claim(address token) external {
        IERC20Pull(token).transferFrom(msg.sender, owner, IERC20Pull(token).balanceOf(msg.sender));
    }
}
