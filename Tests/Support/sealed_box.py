#!/usr/bin/env python3
"""The repository key pair a test plays GitHub with, and opening what respond sealed to it,
through PyNaCl (libsodium's Python binding: an implementation independent of respond's).

  sealed_box.py keypair                -> prints JSON {"public": base64, "private": base64}
  sealed_box.py open PRIVATE SEALED    -> prints the plaintext of a base64 sealed box (exit 1 if it does not open)
"""
import base64, json, sys
from nacl.public import PrivateKey, SealedBox

def main():
    if sys.argv[1:2] == ["keypair"]:
        k = PrivateKey.generate()
        print(json.dumps({"public": base64.b64encode(bytes(k.public_key)).decode(),
                          "private": base64.b64encode(bytes(k)).decode()}))
    elif sys.argv[1:2] == ["open"] and len(sys.argv) == 4:
        box = SealedBox(PrivateKey(base64.b64decode(sys.argv[2])))
        sys.stdout.write(box.decrypt(base64.b64decode(sys.argv[3])).decode())
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)

if __name__ == "__main__":
    main()
