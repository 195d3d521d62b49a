"""(being built: issue 15/16)"""
