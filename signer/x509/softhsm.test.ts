// The certificate and CRL builders with the CA keys in a real SoftHSM token (hsm-suite.ts).
import { makeTempTokens } from '../hsm/test-support.ts';
import { x509HsmSuite } from './hsm-suite.ts';

x509HsmSuite(() => makeTempTokens(['edgeca-x509']));
