"""podbay.server"""
