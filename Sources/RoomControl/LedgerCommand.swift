import ArgumentParser
struct LedgerCommand: ParsableCommand {}
