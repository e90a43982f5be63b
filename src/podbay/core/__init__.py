"""podbay.core"""
