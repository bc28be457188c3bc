// The certificate and CRL builders with the CA keys in a real SoftHSM token (test/support/hsm-x509-suite.ts).
import { makeTempTokens } from '../../test/support/hsm-tokens.ts';
import { x509HsmSuite } from '../../test/support/hsm-x509-suite.ts';

x509HsmSuite(() => makeTempTokens(['edgeca-x509']));
